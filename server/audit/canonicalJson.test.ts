import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson, canonicalJsonAround, jsonString } from './canonicalJson.ts';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts object members by UTF-16 code units, recursively', () => {
    // RFC 8785 §3.2.3 sorting example: keys compared as UTF-16 code unit arrays.
    const input = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
    const keys = Object.keys(JSON.parse(canonicalJson(input)) as object);
    // JSON.parse puts integer-like keys first, so check the serialised order directly.
    const order = [...canonicalJson(input).matchAll(/"([^"]*)":"([^"]*)"/g)].map((m) => m[2]);
    expect(order).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
    expect(keys).toHaveLength(7);
    expect(canonicalJson({ b: { d: 1, c: 2 }, a: [3, { f: 1, e: 2 }] })).toBe('{"a":[3,{"e":2,"f":1}],"b":{"c":2,"d":1}}');
  });

  it('serialises numbers as ECMAScript does (RFC 8785 §3.2.2.3 examples)', () => {
    expect(canonicalJson([333333333.33333329, 1e30, 4.5, 2e-3, 0.000001, 1e-7, -0, 1e21, 1e20])).toBe(
      '[333333333.3333333,1e+30,4.5,0.002,0.000001,1e-7,0,1e+21,100000000000000000000]',
    );
  });

  it('escapes strings minimally, as JSON.stringify does', () => {
    expect(canonicalJson('\u20ac$\u000f\u000aA\'\u0042\u0022\u005c\\"\/')).toBe('"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"');
  });

  it('drops undefined members and rejects values JSON cannot hold', () => {
    expect(canonicalJson({ a: undefined, b: null, c: true })).toBe('{"b":null,"c":true}');
    expect(() => canonicalJson(Number.NaN)).toThrow(/finite/);
    expect(() => canonicalJson(Infinity)).toThrow(/finite/);
    expect(() => canonicalJson(10n)).toThrow(/bigint/);
  });

  it('splits a record around one member so that the pieces rebuild the canonical JSON', () => {
    // Members before and after "seq" in sort order, nested "seq" keys, odd names and values.
    const record = fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('seq', 'a', 'z', 'outcome', 'severity')), fc.jsonValue());
    fc.assert(
      fc.property(record, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (members, seq) => {
        const event = { ...members, details: { ...members, seq: 0 }, seq };
        const { before, after } = canonicalJsonAround(event, 'seq');
        expect(before + String(seq) + after).toBe(canonicalJson(event));
      }),
      { numRuns: 500 },
    );
    expect(canonicalJsonAround({ seq: 1 }, 'seq')).toEqual({ before: '{"seq":', after: '}' });
    expect(() => canonicalJsonAround({ a: 1 }, 'seq')).toThrow(/no member seq/);
  });
});

describe('jsonString', () => {
  it('writes the bytes JSON.stringify writes, for text that needs escaping and text that does not', () => {
    const samples = [
      '',
      'plain',
      'a'.repeat(64),
      '2026-11-30T10:00:00.123Z',
      'say "hi"',
      'back\\slash',
      'tab\tnew\nline\r',
      '\u0000\u0001\u001f\u007f',
      'zoë \u2028 \u2029 €',
      '\ud83d\ude00 a pair',
      'lone \ud800 high',
      'lone \udfff low',
      '\ude00\ud83d reversed',
    ];
    for (const text of samples) expect(jsonString(text), JSON.stringify(text)).toBe(JSON.stringify(text));
    expect(jsonString(null)).toBe('null');
  });
});

describe('jsonString, on any text', () => {
  it('agrees with JSON.stringify (lone surrogates and control characters included)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => jsonString(text) === JSON.stringify(text)), { numRuns: 2_000 });
  });
});
