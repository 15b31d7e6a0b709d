/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for the values Argus hashes: objects,
 * arrays, strings, finite numbers, booleans and null.
 *
 * - Numbers use ECMAScript Number-to-String, which is what JSON.stringify emits (RFC 8785 §3.2.2.3).
 * - Strings use JSON.stringify's escaping, which matches RFC 8785 §3.2.2.2.
 * - Object members are sorted by their names as arrays of UTF-16 code units (§3.2.3):
 *   JavaScript's default string comparison does exactly that.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // I-JSON (RFC 7493) has no NaN or Infinity.
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a finite number`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i += 1) out += (i ? ',' : '') + canonicalJson(value[i]);
        return `${out}]`;
      }
      // Exports serialise millions of these: one pass, no intermediate arrays but the keys.
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const member = record[key];
        if (member === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(member)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`canonicalJson: ${typeof value} cannot be represented in JSON`);
  }
}

/**
 * The canonical JSON of a flat record split around one top-level member's value:
 * `before + canonicalJson(record[key]) + after === canonicalJson(record)`. The audit chain
 * uses it to canonicalise an event before its seq is known (sql/000011).
 */
export function canonicalJsonAround(record: Record<string, unknown>, key: string): { before: string; after: string } {
  if (!Object.hasOwn(record, key) || record[key] === undefined) throw new TypeError(`canonicalJsonAround: no member ${key}`);
  const keys = Object.keys(record).sort();
  let before = '{';
  let after = '';
  let cut = false;
  for (const name of keys) {
    const member = record[name];
    if (member === undefined) continue;
    if (cut) {
      after += `,${JSON.stringify(name)}:${canonicalJson(member)}`;
      continue;
    }
    before += `${before === '{' ? '' : ','}${JSON.stringify(name)}:`;
    if (name === key) cut = true;
    else before += canonicalJson(member);
  }
  return { before, after: `${after}}` };
}

/** What JSON.stringify escapes in a string: quote, backslash, control characters and (lone) surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * JSON.stringify(text) for a string or null, the same bytes, faster for the common text that
 * needs no escaping (hashes, ids, times, most user agents): exports write millions.
 */
export function jsonString(text: string | null): string {
  if (text === null) return 'null';
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}
