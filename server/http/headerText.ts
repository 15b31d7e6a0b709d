/**
 * Request header values as the client wrote them.
 *
 * Node's HTTP parser hands header values over as Latin-1: each byte becomes the code point
 * of the same number. Browsers and tools that put non-ASCII text in a header (a User-Agent
 * naming "ärger" or "日本") send it as UTF-8, which then reads as "Ã¤rger". RFC 9110 §5.5
 * leaves non-ASCII bytes opaque, so this takes the reading the sender most likely meant:
 * the bytes as UTF-8 when they are valid UTF-8, else the Latin-1 text unchanged (a
 * genuinely Latin-1 value is very unlikely to also be valid UTF-8).
 */
export function headerText(value: string | undefined): string | undefined {
  // ASCII reads the same either way; most headers stop here.
  if (value === undefined || !/[^\x00-\x7f]/.test(value)) return value;
  // A code point above U+00FF did not come from Node's Latin-1 decoding: leave it alone.
  if (/[^\x00-\xff]/.test(value)) return value;
  const bytes = Buffer.from(value, 'latin1');
  const decoded = bytes.toString('utf8');
  // Invalid UTF-8 decodes with U+FFFD in place of the bad bytes and does not encode back to them.
  return Buffer.from(decoded, 'utf8').equals(bytes) ? decoded : value;
}

/**
 * Text cut to at most `max` UTF-16 code units without splitting a surrogate pair: half an
 * emoji cannot be encoded as UTF-8, so Postgres or a JSON reader would see something else
 * than what was cut.
 */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
}
