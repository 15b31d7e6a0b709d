import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { API_ROUTES } from '../app.ts';
import { DetectorMessageSchema } from '../detector/protocol.ts';

type JsonSchema = { [key: string]: unknown };

/** Fixed-length string formats: a value that matches cannot be long. */
const BOUNDED_FORMATS = new Set(['uuid']);

/**
 * Every place in a JSON Schema where input could be unbounded: a string without maxLength,
 * an array without maxItems, or a record whose keys are not length-bounded.
 */
function unbounded(schema: unknown, at: string, found: string[]): string[] {
  if (typeof schema !== 'object' || schema === null) return found;
  const node = schema as JsonSchema;
  const types = ([] as unknown[]).concat(node.type ?? []);
  if (types.includes('string') && node.enum === undefined && node.const === undefined && node.maxLength === undefined && !BOUNDED_FORMATS.has(node.format as string)) {
    found.push(`${at}: string without maxLength`);
  }
  if (types.includes('array') && node.maxItems === undefined) found.push(`${at}: array without maxItems`);
  // A record's keys are strings too: its propertyNames must say how long they may be (walked below).
  if (types.includes('object') && node.additionalProperties !== undefined && node.additionalProperties !== false && node.propertyNames === undefined) {
    found.push(`${at}: object keys without maxLength`);
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' || key === '$defs' || key === 'definitions') {
      for (const [name, child] of Object.entries(value as JsonSchema)) unbounded(child, `${at}.${name}`, found);
    } else if (Array.isArray(value)) {
      value.forEach((child, index) => unbounded(child, `${at}[${index}]`, found));
    } else if (typeof value === 'object' && value !== null) {
      unbounded(value, `${at}/${key}`, found);
    }
  }
  return found;
}

function unboundedIn(schema: z.ZodType, where: string): string[] {
  return unbounded(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), where, []);
}

describe('input bounds', () => {
  it('finds an unbounded string, array and record (the walker works)', () => {
    const found = unboundedIn(z.object({ a: z.string(), b: z.array(z.number()), c: z.record(z.string(), z.number()), d: z.string().max(3) }), 'body');
    expect(found).toEqual(['body.a: string without maxLength', 'body.b: array without maxItems', 'body.c/propertyNames: string without maxLength']);
  });

  it('bounds every string and array in every route schema (body, params, query)', () => {
    const problems: string[] = [];
    let walked = 0;
    for (const route of API_ROUTES) {
      for (const where of ['body', 'params', 'query'] as const) {
        const schema = route[where];
        if (!schema) continue;
        walked += 1;
        problems.push(...unboundedIn(schema as z.ZodType, `${route.method.toUpperCase()} ${route.path} ${where}`));
      }
    }
    expect(walked).toBeGreaterThan(20);
    expect(problems).toEqual([]);
  });

  it('bounds every string and array a detector may send', () => {
    expect(unboundedIn(DetectorMessageSchema as z.ZodType, 'detector')).toEqual([]);
  });
});
