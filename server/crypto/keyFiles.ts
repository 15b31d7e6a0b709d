import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A key's id in a key list: what records name to say which key made them. */
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Parses a key list setting: `id:base64,id:base64…` (the first is the one in use, the others
 * are kept to read what they made), or with `single` one entry, bare base64 taking the id
 * `default`. Node's base64 decoder reads the URL-safe alphabet too. `checkBytes` refuses a
 * key of the wrong size with its reason. Throws an Error whose message names what is wrong,
 * never the key; `several` names the setting that takes a list, for the `single` error.
 */
export function parseKeyList(
  value: string,
  { single = false, several, checkBytes }: { single?: boolean; several: string; checkBytes: (bytes: Buffer, id: string) => string | null },
): Array<{ id: string; bytes: Buffer }> {
  const entries = value.split(',').map((entry) => entry.trim());
  if (single && entries.length > 1) throw new Error(`holds one key; list several in ${several}`);
  const keys = entries.map((entry, index) => {
    const colon = entry.indexOf(':');
    if (colon < 0 && !single) throw new Error(`entry ${index + 1} is not id:base64`);
    const id = colon < 0 ? 'default' : entry.slice(0, colon);
    const encoded = colon < 0 ? entry : entry.slice(colon + 1);
    if (!KEY_ID.test(id)) throw new Error(`key id "${id.slice(0, 40)}" must be 1–32 letters, digits, - or _`);
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) throw new Error(`the key "${id}" is not base64`);
    const bytes = Buffer.from(encoded, 'base64');
    const wrong = checkBytes(bytes, id);
    if (wrong) throw new Error(wrong);
    return { id, bytes };
  });
  const ids = keys.map((key) => key.id);
  const repeated = ids.find((id, index) => ids.indexOf(id) !== index);
  if (repeated) throw new Error(`key id "${repeated}" is listed twice`);
  return keys;
}

/**
 * Development and tests: a secret generated on first start and kept under the data directory
 * (mode 0600), so every node started from that directory shares it. Several processes may
 * start at once: the file is written aside and hard-linked into place, so exactly one wins.
 * Returns the file's contents.
 */
export function persistedOnce(dataDir: string, name: string, make: () => string): string {
  const file = path.join(dataDir, name);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o755 });
    const aside = `${file}.${process.pid}.${Date.now()}`;
    writeFileSync(aside, make(), { mode: 0o600, flag: 'wx' });
    try {
      linkSync(aside, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(aside);
    }
  }
  return readFileSync(file, 'utf8');
}
