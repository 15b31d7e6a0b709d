import fc from 'fast-check';

/**
 * Adversarial inputs for the fuzz suites: what a hostile client sends to find a crash, a
 * leak or a way past validation. Weighted towards the known sharp edges, with plain random
 * values in between.
 */

/** How many runs each property makes; FUZZ_RUNS raises it for deeper local runs. */
export function fuzzRuns(fallback: number): number {
  const runs = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(runs) && runs > 0 ? runs : fallback;
}

/** Strings known to break parsers, validators, loggers and SQL built by hand. */
const SHARP_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF',
  'x\uDC00y\uD83D',
  '\u202Eevil\u202C',
  '\u200B\uFEFF',
  '🔑'.repeat(50),
  'é'.normalize('NFD'),
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  "' OR '1'='1' --",
  '"; DROP TABLE app_user; --',
  '$1',
  '%s%s%n',
  '${process.exit()}',
  '{{constructor.constructor("x")()}}',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '..\\..\\windows',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '0x10',
  '123',
  '-1',
  '9007199254740993',
  'true',
  'null',
  'undefined',
  '[]',
  '{}',
  '00000000-0000-0000-0000-000000000000',
  '6f1c1c52-2a5b-4e4f-9a53-2f5d0b8b1e11',
  'demo-standard',
  'admin',
  'active',
];

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SHARP_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  // Long, and longer than any field allows.
  { weight: 1, arbitrary: fc.constantFrom(65, 101, 1025, 5_000, 40_000).map((n) => 'A'.repeat(n)) },
);

const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, -1, 1, 2 ** 31, 2 ** 53 + 2, Number.MAX_VALUE, Number.MIN_VALUE, 1e-7),
);

/** A key for an object: the usual, and the prototype-polluting. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'role', 'isAdmin', 'status', 'id', 'userId', 'type', '') },
  { weight: 1, arbitrary: hostileString },
);

const primitive: fc.Arbitrary<unknown> = fc.oneof(hostileString, hostileNumber, fc.boolean(), fc.constant(null));

/** Any JSON value, a few levels deep, built from hostile parts. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    { weight: 3, arbitrary: primitive },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
    { weight: 2, arbitrary: fc.dictionary(hostileKey, tie('value'), { maxKeys: 4 }) },
  ),
})).value;

/** An object with the fields a schema expects, each holding something it does not. */
export function shapedObject(fields: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  if (fields.length === 0) return fc.dictionary(hostileKey, hostileJson, { maxKeys: 3 });
  return fc
    .tuple(
      fc.subarray([...fields]),
      fc.array(hostileJson, { minLength: fields.length, maxLength: fields.length }),
      fc.dictionary(hostileKey, hostileJson, { maxKeys: 2 }),
    )
    .map(([chosen, values, extra]) => {
      const shaped: Record<string, unknown> = {};
      // JSON.parse makes `__proto__` an own property; so does defining it here.
      for (const [key, value] of Object.entries(extra)) Object.defineProperty(shaped, key, { value, enumerable: true, writable: true, configurable: true });
      chosen.forEach((field, index) => (shaped[field] = values[index]));
      return shaped;
    });
}

/** Raw request-body text: malformed JSON, deep nesting, prototype pollution, huge bodies. */
export const hostileRawBody: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '{"a":}',
    '[1,2',
    'null',
    'true',
    '0',
    '"just a string"',
    '{"a":1,"a":2}',
    '{"__proto__":{"role":"admin","isAdmin":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '{"response":{"__proto__":{"type":"public-key"}}}',
    '\uFEFF{}',
    '{"a":"\\ud800"}',
    '{"a":"\\u0000"}',
    '{"a":1e99999}',
    '{"a":-}',
    "{'a':1}",
    '{"a":1}garbage',
    '\u0000',
  ),
  fc.integer({ min: 20, max: 5_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 20, max: 2_000 }).map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  fc.constantFrom(70_000, 300_000).map((size) => JSON.stringify({ padding: 'p'.repeat(size) })),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

/** Content types: right, nearly right, and wrong. */
export const contentType: fc.Arbitrary<string | null> = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=UTF-8',
  'APPLICATION/JSON',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset="utf-8"',
  'application/json; charset=bogus',
  'application/json;;;',
  'application/merge-patch+json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'text/plain',
  'text/html; charset=utf-8',
  '*/*',
  '',
  null,
);

/** A header value a client library lets through (visible ASCII and tabs). */
const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => s.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '').trim()),
  fc.constantFrom('', '*', 'gzip', 'br', 'deflate', 'identity', 'x-bogus', '127.0.0.1, 10.0.0.1', 'null', '-1', '0', 'A'.repeat(4_000), 'same-origin', 'cross-site'),
);

const HEADER_NAMES = [
  'accept',
  'accept-encoding',
  'accept-language',
  'content-encoding',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
  'x-http-method-override',
  'user-agent',
  'referer',
  'range',
  'if-none-match',
  'sec-fetch-site',
  'authorization',
];

/** Extra request headers, some of which tools and proxies treat specially. */
export const hostileHeaders: fc.Arbitrary<Record<string, string>> = fc.dictionary(fc.constantFrom(...HEADER_NAMES), headerValue, { maxKeys: 3 });

/** A path segment: UUIDs and ids, plus traversal, bad percent-encodings and very long ones (sent as is). */
export const hostilePathSegment: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: hostileString.map((s) => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '\uFFFD')) || '%20') },
  { weight: 1, arbitrary: fc.uuid().map(String) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('%', '%E0%A4%A', '%ZZ', '%00', '%C0%AE', '%2e%2e', '%2F', '..%2F..%2F', '%25', 'a%2Fb', '%F0%9F', '%uD800', 'x'.repeat(3_000), '%20'),
  },
);

/** Query-string pairs, with duplicate keys, the schema's own keys and malformed encodings. */
export function hostileQuery(fields: readonly string[]): fc.Arbitrary<string> {
  const key = fields.length ? fc.oneof(fc.constantFrom(...fields), hostileKey.map(encodeURIComponentSafe)) : hostileKey.map(encodeURIComponentSafe);
  const value = fc.oneof(
    hostileString.map(encodeURIComponentSafe),
    fc.constantFrom('%', '%ZZ', '%E0%A4%A', '', '1', '0', '-1', '101', '1.5', '1e3', 'abc', 'true', '[]', '%5B%5D'),
  );
  return fc.oneof(
    fc.array(fc.tuple(key, value), { maxLength: 5 }).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&')),
    // The same key twice: the simple parser makes it an array.
    fc.tuple(key, value, value).map(([k, a, b]) => `${k}=${a}&${k}=${b}`),
    fc.constantFrom('&&&', '=', '==&=', 'a[b]=1', 'a[__proto__][x]=1', '__proto__[role]=admin', `q=${'z'.repeat(6_000)}`),
  );
}

function encodeURIComponentSafe(value: string): string {
  return encodeURIComponent(value.replace(/[\uD800-\uDFFF]/g, '\uFFFD'));
}

type JsonSchema = { [key: string]: unknown };

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * Timestamps at and past the edges of what Postgres's timestamptz stores: years 0 and
 * 294277, six-digit and signed years, offsets beyond ±15:59, days a month does not have.
 * JavaScript's Date.parse (and zod's datetime pattern) accept many of them.
 */
export const edgeTimestamp: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '0000-01-01T00:00:00Z',
    '0001-01-01T00:00:00Z',
    '0001-01-01T00:00:00+15:59',
    '9999-12-31T23:59:59.999999-15:59',
    '294276-12-31T23:59:59Z',
    '294277-01-01T00:00:00Z',
    '+275760-09-13T00:00:00.000Z',
    '-271821-04-20T00:00:00.000Z',
    '-000001-01-01T00:00:00Z',
    '2024-01-01T00:00:00-23:59',
    '2024-01-01T00:00:00+16:00',
    '2024-02-30T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2024-12-31T23:59:60Z',
    '2024-01-01T24:00:00Z',
    '2024-01-01T00:00:00.1234567890123Z',
    '1',
    '0',
  ),
  fc
    .record({
      year: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 9_998, max: 10_001 }), fc.integer({ min: 0, max: 294_277 })),
      month: fc.integer({ min: 0, max: 13 }),
      day: fc.integer({ min: 0, max: 32 }),
      offsetHours: fc.integer({ min: 0, max: 24 }),
      offsetMinutes: fc.constantFrom(0, 30, 59, 60),
      sign: fc.constantFrom('+', '-'),
    })
    .map(({ year, month, day, offsetHours, offsetMinutes, sign }) =>
      `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T12:00:00${sign}${pad(offsetHours, 2)}:${pad(offsetMinutes, 2)}`,
    ),
);

const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/**
 * Keyset cursors as a client could forge them: well-formed base64url whose decoded text holds
 * an edge timestamp, a NUL, a lone surrogate, an extra field or a name no user can have.
 */
export const hostileCursor: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(edgeTimestamp, fc.oneof({ weight: 3, arbitrary: fc.uuid().map(String) }, { weight: 1, arbitrary: hostileString }))
      .map(([at, id]) => b64url(`${at}|${id}`)),
  },
  fc
    .tuple(fc.date({ noInvalidDate: true, min: new Date('2000-01-01'), max: new Date('2100-01-01') }), fc.uuid(), fc.constantFrom('\u0000', '|x', '\uD800', ''))
    .map(([date, id, extra]) => b64url(`${date.toISOString()}|${id}${extra}`)),
  hostileString.map((text) => b64url(text.replace(/[\uD800-\uDFFF]/g, '\uFFFD'))),
  fc.constantFrom('AA', '_w', '', b64url('a\u0000b'), b64url('\uFFFD'), '-_-_', 'A'.repeat(200)),
);

/** Characters that storage, logging and rendering handle worst; mixed into otherwise valid text. */
const AWKWARD_CHARACTERS = ['\u0000', '\uD800', '\uDFFF', '\u202E', '\uFEFF', '\u2028', "'", '"', '\\', '%', '🔑'];

/** A hostile string, often with an awkward character early on, cut or padded to fit a length range. */
export function fitted(min: number, max: number): fc.Arbitrary<string> {
  return fc.tuple(hostileString, fc.option(fc.constantFrom(...AWKWARD_CHARACTERS), { freq: 2 })).map(([text, awkward]) => {
    const s = awkward === null ? text : text.slice(0, 2) + awkward + text.slice(2);
    const cut = [...s].slice(0, max).join('');
    return cut.length >= min ? cut : cut + 'x'.repeat(min - cut.length);
  });
}

/**
 * Values that satisfy a route's JSON Schema (as far as JSON Schema can say: refinements are
 * not in it) while being as awkward as allowed: NUL, lone surrogates, RTL marks and SQL in
 * free text, the extremes of numeric ranges. These get past validation into the handlers.
 */
export function validButHostile(schema: unknown): fc.Arbitrary<unknown> {
  const node = (schema ?? {}) as JsonSchema;
  if (node.const !== undefined) return fc.constant(node.const);
  if (Array.isArray(node.enum)) return fc.constantFrom(...(node.enum as unknown[]));
  for (const union of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(node[union])) return fc.oneof(...(node[union] as unknown[]).map(validButHostile));
  }
  if (Array.isArray(node.allOf) && node.allOf.length > 0) return validButHostile(node.allOf[0]);
  const type = Array.isArray(node.type) ? (node.type[0] as string) : (node.type as string | undefined);
  switch (type) {
    case 'string': {
      const max = typeof node.maxLength === 'number' ? node.maxLength : 200;
      const min = typeof node.minLength === 'number' ? node.minLength : 0;
      if (node.format === 'uuid') return fc.uuid().map(String);
      if (node.format === 'uri') return fc.oneof(fc.webUrl(), fc.constantFrom('http://127.0.0.1:1/', 'http://[::1]:9/v1', 'https://example.invalid/'));
      if (node.format === 'date-time') return fc.oneof(fc.date({ noInvalidDate: true }).map((date) => date.toISOString()), edgeTimestamp);
      if (node.format === 'keyset-cursor') return hostileCursor;
      if (typeof node.pattern === 'string') {
        return fc.stringMatching(new RegExp(node.pattern)).filter((s) => s.length >= min && s.length <= max);
      }
      return fitted(min, max);
    }
    case 'integer': {
      const min = typeof node.minimum === 'number' ? node.minimum : typeof node.exclusiveMinimum === 'number' ? node.exclusiveMinimum + 1 : Number.MIN_SAFE_INTEGER;
      const max = typeof node.maximum === 'number' ? node.maximum : typeof node.exclusiveMaximum === 'number' ? node.exclusiveMaximum - 1 : Number.MAX_SAFE_INTEGER;
      return fc.oneof(fc.constantFrom(min, max), fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31) }));
    }
    case 'number':
      return fc.double({ min: (node.minimum as number | undefined) ?? -1e9, max: (node.maximum as number | undefined) ?? 1e9, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(validButHostile(node.items), { maxLength: Math.min(3, (node.maxItems as number | undefined) ?? 3) });
    case 'object': {
      const properties = (node.properties ?? {}) as Record<string, unknown>;
      const required = new Set((node.required ?? []) as string[]);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, property] of Object.entries(properties)) record[name] = validButHostile(property);
      return fc.record(record, { requiredKeys: Object.keys(record).filter((name) => required.has(name)) });
    }
    default:
      return hostileJson;
  }
}
