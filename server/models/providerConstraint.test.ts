import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_PROVIDERS } from '../../shared/api.ts';
import { createPool, query, type Pool } from '../db/pool.ts';
import { createLogger } from '../log.ts';
import { createTestDatabase } from '../test/harness.ts';
import { MODEL_PROVIDER_REGISTRY } from './providers.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: Pool;
beforeAll(async () => {
  database = await createTestDatabase();
  // Cloned from the run's template, which every migration has been applied to.
  pool = createPool(database.url, createLogger('silent'), 2);
});
afterAll(async () => {
  await pool.end();
  await database.drop();
});

/** The CHECK constraints of model.provider after every migration, as Postgres holds them. */
async function providerChecks(): Promise<Array<{ name: string; expression: string }>> {
  const { rows } = await query<{ name: string; expression: string }>(
    pool,
    'test_model_provider_checks',
    `SELECT c.conname AS name, pg_get_expr(c.conbin, c.conrelid) AS expression
       FROM pg_constraint c
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
      WHERE c.conrelid = 'model'::regclass AND c.contype = 'c' AND a.attname = 'provider'`,
  );
  return rows;
}

/** Whether the constraint's own expression lets a row with this provider in. */
async function allows(expression: string, provider: string): Promise<boolean> {
  // The expression is Postgres's rendering of our own migration, not input.
  const { rows } = await query<{ allowed: boolean }>(pool, 'test_model_provider_allows', `SELECT ${expression} AS allowed FROM (VALUES ($1::text)) AS model (provider)`, [provider]);
  return rows[0]!.allowed;
}

describe('the database allows exactly the providers of MODEL_PROVIDERS', () => {
  it('has one CHECK on model.provider, naming each provider and no other', async () => {
    const checks = await providerChecks();
    expect(checks, 'model.provider should have exactly one CHECK constraint').toHaveLength(1);
    const { name, expression } = checks[0]!;
    const named = [...expression.matchAll(/'((?:[^']|'')*)'::text/g)].map((match) => match[1]!.replaceAll("''", "'"));
    expect(
      [...named].sort(),
      `The CHECK "${name}" on model.provider allows [${named.join(', ')}] but shared MODEL_PROVIDERS is [${MODEL_PROVIDERS.join(', ')}]: ` +
        'add a migration (the next sql/0000NN_….sql) that drops this constraint and adds one naming every provider.',
    ).toEqual([...MODEL_PROVIDERS].sort());
  });

  it('lets each provider in and keeps anything else out (the expression, evaluated by Postgres)', async () => {
    const [check] = await providerChecks();
    const expression = check!.expression;
    for (const provider of MODEL_PROVIDERS) expect(await allows(expression, provider), `${provider} should be allowed`).toBe(true);
    for (const stranger of ['', 'OpenAI', 'demo ', 'ollama-native-unknown']) expect(await allows(expression, stranger), `"${stranger}" should be refused`).toBe(false);
  });

  it('has a registry entry for each provider and for no other', () => {
    expect(Object.keys(MODEL_PROVIDER_REGISTRY).sort()).toEqual([...MODEL_PROVIDERS].sort());
  });
});
