import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../audit/canonicalJson.ts';
import { parseKeyList, persistedOnce } from './keyFiles.ts';

/**
 * MACs over the records Argus keeps in Redis (grants, audit-outbox records), so that write
 * access to Redis alone cannot mint or edit one (threat-model G4, invariant 10). The key is
 * held by the nodes (GRANT_SIGNING_KEYS), never by Redis.
 *
 * A MAC is HMAC-SHA-256 over
 *   "argus.record-mac.v1" LF <record type> LF <key id> LF <RFC 8785 canonical JSON of the fields>
 * The record type separates domains (a grant's MAC never passes as an outbox record's), the key
 * id binds the MAC to the key that made it, and the canonical JSON covers every field the
 * record has: a field added, removed, retyped or changed breaks it. Stored as
 * `<key id>.<base64url tag>`.
 *
 * Records kept as text (sessions: express-session's JSON, stored as it is) are MAC'd over their
 * exact bytes and the place they belong to (the session id), in a domain of their own:
 *   "argus.record-mac.text.v1" LF <record type> LF <key id> LF <place's length> ":" <place> LF <text>
 * (the length, so no place and text can be cut differently to the same bytes), and a session
 * record copied under another session id, or edited by one byte, fails.
 */

/** One key: its id (stored beside each MAC it makes) and its secret. */
export interface RecordMacKey {
  id: string;
  secret: Buffer;
}

/** Each kind of record has a domain of its own. */
export type MacRecordType = 'grant' | 'audit-outbox';
/** Records MAC'd as text, bound to their place. */
export type TextRecordType = 'session';

/** Why a MAC was refused. */
export type MacFailure = 'missing_mac' | 'malformed_mac' | 'unknown_key' | 'bad_mac';
export type MacVerification = { valid: true } | { valid: false; reason: MacFailure };

const DOMAIN = 'argus.record-mac.v1';
const TEXT_DOMAIN = 'argus.record-mac.text.v1';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
/** HMAC-SHA-256 keys shorter than the hash give less than its strength (RFC 2104 §3). */
export const MIN_SECRET_BYTES = 32;
const TAG_BYTES = 32;

export class RecordMac {
  private readonly keys: ReadonlyMap<string, Buffer>;
  /** The first key listed signs; every listed key verifies (rotation). */
  readonly signingKeyId: string;

  constructor(keys: readonly RecordMacKey[]) {
    if (keys.length === 0) throw new Error('RecordMac: at least one key is needed');
    const byId = new Map<string, Buffer>();
    for (const key of keys) {
      if (!KEY_ID.test(key.id)) throw new Error(`RecordMac: key id "${key.id}" must be 1–32 letters, digits, - or _`);
      if (key.secret.length < MIN_SECRET_BYTES) throw new Error(`RecordMac: key "${key.id}" has ${key.secret.length} bytes; at least ${MIN_SECRET_BYTES} are needed`);
      if (byId.has(key.id)) throw new Error(`RecordMac: key id "${key.id}" is listed twice`);
      byId.set(key.id, key.secret);
    }
    this.keys = byId;
    this.signingKeyId = keys[0]!.id;
  }

  /** The MAC of `fields` (every member is covered) as a record of `type`, under the signing key. */
  sign(type: MacRecordType, fields: Record<string, unknown>): string {
    const tag = macTag(type, this.signingKeyId, this.keys.get(this.signingKeyId)!, fields);
    return `${this.signingKeyId}.${tag.toString('base64url')}`;
  }

  /** Whether `mac` (as stored, untrusted) is the MAC of `fields` as a record of `type` under a listed key. */
  verify(type: MacRecordType, fields: Record<string, unknown>, mac: unknown): MacVerification {
    // canonicalJson refuses what JSON cannot hold; a record that parsed from JSON never has it.
    return this.check(mac, (keyId, secret) => macTag(type, keyId, secret, fields));
  }

  /** The MAC of `text`, exactly as it is stored, as a record of `type` kept at `place`, under the signing key. */
  signText(type: TextRecordType, place: string, text: string): string {
    const tag = textMacTag(type, this.signingKeyId, this.keys.get(this.signingKeyId)!, place, text);
    return `${this.signingKeyId}.${tag.toString('base64url')}`;
  }

  /** Whether `mac` (as stored, untrusted) is the MAC of `text` as a record of `type` kept at `place`, under a listed key. */
  verifyText(type: TextRecordType, place: string, text: string, mac: unknown): MacVerification {
    return this.check(mac, (keyId, secret) => textMacTag(type, keyId, secret, place, text));
  }

  private check(mac: unknown, expectedTag: (keyId: string, secret: Buffer) => Buffer): MacVerification {
    if (typeof mac !== 'string' || mac === '') return { valid: false, reason: 'missing_mac' };
    const dot = mac.indexOf('.');
    if (dot <= 0) return { valid: false, reason: 'malformed_mac' };
    const keyId = mac.slice(0, dot);
    const secret = this.keys.get(keyId);
    if (!secret) return { valid: false, reason: 'unknown_key' };
    const given = Buffer.from(mac.slice(dot + 1), 'base64url');
    // timingSafeEqual needs equal lengths; a tag's length is public anyway.
    if (given.length !== TAG_BYTES) return { valid: false, reason: 'malformed_mac' };
    let expected: Buffer;
    try {
      expected = expectedTag(keyId, secret);
    } catch {
      return { valid: false, reason: 'bad_mac' };
    }
    return timingSafeEqual(expected, given) ? { valid: true } : { valid: false, reason: 'bad_mac' };
  }
}

function macTag(type: MacRecordType, keyId: string, secret: Buffer, fields: Record<string, unknown>): Buffer {
  return createHmac('sha256', secret).update(`${DOMAIN}\n${type}\n${keyId}\n`).update(canonicalJson(fields)).digest();
}

function textMacTag(type: TextRecordType, keyId: string, secret: Buffer, place: string, text: string): Buffer {
  return createHmac('sha256', secret).update(`${TEXT_DOMAIN}\n${type}\n${keyId}\n${place.length}:${place}\n`).update(text, 'utf8').digest();
}

/**
 * Reads GRANT_SIGNING_KEYS (`id:secret,id:secret…`, the first signs) or GRANT_SIGNING_KEY (one
 * secret, id `default`, or one `id:secret`). Secrets are base64 or base64url of 32+ bytes.
 * Throws an Error whose message names what is wrong (never the secret).
 */
export function parseRecordMacKeys(value: string, { single = false } = {}): RecordMacKey[] {
  return parseKeyList(value, {
    single,
    several: 'GRANT_SIGNING_KEYS',
    checkBytes: (bytes, id) =>
      bytes.length >= MIN_SECRET_BYTES ? null : `the secret of key "${id}" is ${bytes.length} bytes; at least ${MIN_SECRET_BYTES} are needed (openssl rand -base64 32)`,
  }).map(({ id, bytes }) => ({ id, secret: bytes }));
}

const DEV_KEY_FILE = 'grant-signing-key';

/**
 * Development and tests: a key generated on first start and kept under the data directory
 * (persistedOnce), so every node started from the same directory accepts the others' records.
 */
export function persistedRecordMacKey(dataDir: string): RecordMacKey {
  const kept = persistedOnce(dataDir, DEV_KEY_FILE, () => `local:${randomBytes(32).toString('base64url')}\n`);
  return parseRecordMacKeys(kept.trim())[0]!;
}
