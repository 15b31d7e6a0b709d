import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const doc = readFileSync(path.join(root, 'docs/threat-model.md'), 'utf8');

interface Citation {
  file: string;
  title: string;
}

/** Every `path/to/file.test.ts` › "exact title" in the text. */
function citationsIn(text: string): Citation[] {
  return [...text.matchAll(/`([\w./-]+\.(?:test|spec)\.ts)`\s*›\s*"([^"\n]+)"/g)].map((m) => ({ file: m[1]!, title: m[2]! }));
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Does `source` declare a test with exactly this title? `it(` or `test(`, optionally through
 * modifiers (`it.each(…)`, `it.runIf(cond)`, `test.only`), then the title as a string literal in
 * any quote style (a quote of the same kind inside it escaped). `describe` nesting is irrelevant:
 * the call is found wherever it sits.
 */
export function declaresTest(source: string, title: string): boolean {
  const modifiers = String.raw`(?:\.\w+(?:\((?:[^()]|\([^()]*\))*\))?)*`;
  return ["'", '"', '`'].some((quote) => {
    const literal = quote + escapeRegExp(title.replaceAll('\\', '\\\\').replaceAll(quote, `\\${quote}`)) + quote;
    return new RegExp(String.raw`\b(?:it|test)${modifiers}\(\s*${literal}\s*,`).test(source);
  });
}

/** Citations whose file is missing or holds no test with that exact title. */
function brokenCitations(citations: Citation[]): string[] {
  return citations.flatMap(({ file, title }) => {
    const full = path.join(root, file);
    if (!existsSync(full)) return [`${file}: no such file`];
    return declaresTest(readFileSync(full, 'utf8'), title) ? [] : [`${file} › "${title}": no test with this title`];
  });
}

describe('docs/threat-model.md', () => {
  const citations = citationsIn(doc);

  it('cites tests, and every `file` › in it starts a citation that parses', () => {
    expect(citations.length).toBeGreaterThan(100);
    // A citation with a typo in its quotes would otherwise be skipped silently.
    expect(citations).toHaveLength(doc.match(/`[^`\n]*`\s*›/g)!.length);
  });

  it('cites only test files that exist and tests they contain, title for title', () => {
    expect(brokenCitations(citations)).toEqual([]);
  });

  it('catches a renamed test, a citation into the wrong file and a missing file', () => {
    const real = citations[0]!;
    expect(brokenCitations([real])).toEqual([]);
    expect(brokenCitations([{ ...real, title: `${real.title} (renamed)` }])).toHaveLength(1);
    expect(brokenCitations([{ ...real, title: real.title.slice(0, -1) }])).toHaveLength(1);
    expect(brokenCitations([{ file: 'server/config.test.ts', title: real.title }])).toHaveLength(1);
    expect(brokenCitations([{ file: 'server/nowhere.test.ts', title: real.title }])).toEqual(['server/nowhere.test.ts: no such file']);
  });

  it('reads titles in any quote style, through modifiers and nesting, but not describe blocks or other strings', () => {
    const source = [
      "describe('outer', () => {",
      "  describe('inner', () => {",
      "    it('single quoted', () => {});",
      '    it("user\'s double quoted", async () => {});',
      '    test(`back quoted`, () => {});',
      "    it.runIf(has('x'))('behind a modifier', () => {});",
      "    it('it\\'s escaped', () => {});",
      "    expect('not a test').toBe(1);",
      '  });',
      '});',
    ].join('\n');
    for (const title of ['single quoted', "user's double quoted", 'back quoted', 'behind a modifier', "it's escaped"]) {
      expect(declaresTest(source, title), title).toBe(true);
    }
    for (const title of ['outer', 'inner', 'not a test', 'single', 'quoted']) expect(declaresTest(source, title), title).toBe(false);
  });
});
