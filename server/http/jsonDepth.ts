/**
 * Nothing Argus accepts nests deeper than a few levels; 32 leaves room and keeps recursive
 * code (validation, canonical JSON for the audit log, logging) far from the stack's end.
 */
export const JSON_MAX_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Whether raw UTF-8 JSON nests arrays and objects deeper than `maxDepth`, in one pass over
 * the bytes and before parsing. Brackets inside strings do not count; UTF-8 never encodes
 * a non-ASCII character with these ASCII bytes. Malformed JSON is left for the parser to refuse.
 */
export function jsonNestsDeeperThan(raw: Uint8Array, maxDepth: number = JSON_MAX_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i += 1) {
    const byte = raw[i];
    if (inString) {
      if (byte === BACKSLASH) i += 1;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
      depth -= 1;
    }
  }
  return false;
}

/** body-parser's `verify` hook: refuses a too-deep body before it is parsed (400 JSON_TOO_DEEP). */
export function refuseDeepJson(_req: unknown, _res: unknown, raw: Buffer): void {
  if (jsonNestsDeeperThan(raw)) throw Object.assign(new Error('JSON nested too deeply'), { type: 'entity.too.deep' });
}
