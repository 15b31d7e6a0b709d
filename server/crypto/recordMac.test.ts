import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { parseRecordMacKeys, RecordMac } from './recordMac.ts';

const oldKey = { id: 'old', secret: randomBytes(32) };
const newKey = { id: 'new', secret: randomBytes(32) };
const fields = { id: 'g-1', userId: 'u-1', models: ['demo-restricted'], expiresAt: 1_700_000_000_000, device: null, v: 1 };

describe('record MACs', () => {
  it('verify what was signed, under the signing key or a retired one still listed', () => {
    const before = new RecordMac([oldKey]);
    const rotating = new RecordMac([newKey, oldKey]);
    const mac = before.sign('grant', fields);
    expect(mac).toMatch(/^old\.[\w-]{43}$/);
    expect(rotating.verify('grant', fields, mac)).toEqual({ valid: true });
    // The first key listed signs.
    expect(rotating.sign('grant', fields)).toMatch(/^new\./);
    // Member order is not part of the record: canonical JSON sorts it.
    expect(rotating.verify('grant', { v: 1, device: null, expiresAt: 1_700_000_000_000, models: ['demo-restricted'], userId: 'u-1', id: 'g-1' }, mac)).toEqual({ valid: true });
  });

  it('refuse a key no longer listed, a missing or malformed MAC, and a MAC whose key id was swapped', () => {
    const mac = new RecordMac([oldKey]).sign('grant', fields);
    const after = new RecordMac([newKey]);
    expect(after.verify('grant', fields, mac)).toEqual({ valid: false, reason: 'unknown_key' });
    expect(after.verify('grant', fields, undefined)).toEqual({ valid: false, reason: 'missing_mac' });
    expect(after.verify('grant', fields, 42)).toEqual({ valid: false, reason: 'missing_mac' });
    expect(after.verify('grant', fields, 'new')).toEqual({ valid: false, reason: 'malformed_mac' });
    expect(after.verify('grant', fields, 'new.c2hvcnQ')).toEqual({ valid: false, reason: 'malformed_mac' });
    // The key id is inside the MAC: a tag made under one key does not pass as another's.
    const both = new RecordMac([newKey, { id: 'twin', secret: oldKey.secret }, oldKey]);
    expect(both.verify('grant', fields, mac.replace(/^old\./, 'twin.'))).toEqual({ valid: false, reason: 'bad_mac' });
  });

  it('cover every field: one changed, retyped, added or removed breaks it', () => {
    const signer = new RecordMac([newKey]);
    const mac = signer.sign('grant', fields);
    const edits: Array<Record<string, unknown>> = [
      { ...fields, models: ['demo-restricted', 'other-restricted'] },
      { ...fields, expiresAt: fields.expiresAt + 3_600_000 },
      { ...fields, expiresAt: String(fields.expiresAt) },
      { ...fields, v: 2 },
      { ...fields, extra: true },
      Object.fromEntries(Object.entries(fields).filter(([name]) => name !== 'device')),
    ];
    for (const edited of edits) expect(signer.verify('grant', edited, mac), JSON.stringify(edited)).toEqual({ valid: false, reason: 'bad_mac' });
  });

  it('keep record types apart: a grant MAC never passes for an outbox record, nor the reverse', () => {
    const signer = new RecordMac([newKey]);
    expect(signer.verify('audit-outbox', fields, signer.sign('grant', fields))).toEqual({ valid: false, reason: 'bad_mac' });
    expect(signer.verify('grant', fields, signer.sign('audit-outbox', fields))).toEqual({ valid: false, reason: 'bad_mac' });
  });

  it('bind a text record to its exact bytes and its place: another place, one byte more, or the cut between place and text moved breaks it', () => {
    const mac = new RecordMac([newKey, oldKey]);
    const sealed = mac.signText('session', 'sid-1', '{"userId":"u-1"}');
    expect(sealed).toMatch(/^new\./);
    expect(mac.verifyText('session', 'sid-1', '{"userId":"u-1"}', sealed)).toEqual({ valid: true });
    expect(new RecordMac([oldKey, newKey]).verifyText('session', 'sid-1', '{"userId":"u-1"}', sealed)).toEqual({ valid: true });
    expect(mac.verifyText('session', 'sid-2', '{"userId":"u-1"}', sealed)).toEqual({ valid: false, reason: 'bad_mac' });
    expect(mac.verifyText('session', 'sid-1', '{"userId":"u-2"}', sealed)).toEqual({ valid: false, reason: 'bad_mac' });
    expect(mac.verifyText('session', 'sid-1', '{"userId":"u-1"} ', sealed)).toEqual({ valid: false, reason: 'bad_mac' });
    const cut = mac.signText('session', 'a', 'b\nc');
    expect(mac.verifyText('session', 'a\nb', 'c', cut)).toEqual({ valid: false, reason: 'bad_mac' });
    expect(new RecordMac([oldKey]).verifyText('session', 'sid-1', '{"userId":"u-1"}', sealed)).toEqual({ valid: false, reason: 'unknown_key' });
    expect(mac.verifyText('session', 'sid-1', '{"userId":"u-1"}', undefined)).toEqual({ valid: false, reason: 'missing_mac' });
  });

  it('refuse keys too short, badly named or listed twice', () => {
    expect(() => new RecordMac([])).toThrow(/at least one key/);
    expect(() => new RecordMac([{ id: 'k', secret: randomBytes(16) }])).toThrow(/16 bytes/);
    expect(() => new RecordMac([{ id: 'has.dot', secret: randomBytes(32) }])).toThrow(/key id/);
    expect(() => new RecordMac([newKey, newKey])).toThrow(/twice/);
  });
});

describe('GRANT_SIGNING_KEYS / GRANT_SIGNING_KEY', () => {
  const secret = () => randomBytes(32).toString('base64');
  const base = { SESSION_SECRET: 'x'.repeat(32), ARGUS_DATA_DIR: '/tmp/argus-config-test' };

  it('reads id:secret lists (the first signs) and one bare key (id "default")', () => {
    const [a, b] = [secret(), randomBytes(48).toString('base64url')];
    const keys = loadConfig({ ...base, GRANT_SIGNING_KEYS: `k2:${a}, k1:${b}` }).grants.signingKeys;
    expect(keys.map((key) => key.id)).toEqual(['k2', 'k1']);
    expect(keys[1]!.secret).toEqual(Buffer.from(b, 'base64url'));
    expect(loadConfig({ ...base, GRANT_SIGNING_KEY: a }).grants.signingKeys).toEqual([{ id: 'default', secret: Buffer.from(a, 'base64') }]);
    expect(parseRecordMacKeys(`k3:${a}`, { single: true }).map((key) => key.id)).toEqual(['k3']);
  });

  it('names the variable and what is wrong, never the secret', () => {
    const short = randomBytes(16).toString('base64');
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ GRANT_SIGNING_KEYS: `k1:${short}` }, /GRANT_SIGNING_KEYS: the secret of key "k1" is 16 bytes/],
      [{ GRANT_SIGNING_KEYS: secret() }, /GRANT_SIGNING_KEYS: entry 1 is not id:base64/],
      [{ GRANT_SIGNING_KEYS: `k1:${secret()},k1:${secret()}` }, /key id "k1" is listed twice/],
      [{ GRANT_SIGNING_KEYS: `bad id:${secret()}` }, /key id "bad id"/],
      [{ GRANT_SIGNING_KEYS: 'k1:not base64!' }, /not base64/],
      [{ GRANT_SIGNING_KEY: `${secret()},${secret()}` }, /GRANT_SIGNING_KEY: holds one key/],
      [{ GRANT_SIGNING_KEY: secret(), GRANT_SIGNING_KEYS: `k:${secret()}` }, /not both/],
    ];
    for (const [env, message] of cases) {
      let error: unknown;
      try {
        loadConfig({ ...base, ...env });
      } catch (caught) {
        error = caught;
      }
      expect(error, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      expect((error as Error).message, JSON.stringify(env)).toMatch(message);
      expect((error as Error).message).not.toContain(short);
    }
  });

  it('is required in production, and generated once under the data directory otherwise', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'argus-grant-key-'));
    const auditKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const production = { ...base, ARGUS_DATA_DIR: dataDir, NODE_ENV: 'production', ARGUS_ORIGIN: 'https://argus.example.com', AUDIT_SIGNING_KEY: auditKey, DATA_ENCRYPTION_KEY: secret() };
    expect(() => loadConfig(production)).toThrow(/GRANT_SIGNING_KEYS: required when NODE_ENV=production/);
    expect(existsSync(path.join(dataDir, 'grant-signing-key'))).toBe(false);
    expect(loadConfig({ ...production, GRANT_SIGNING_KEYS: `k1:${secret()}` }).grants.signingKeys.map((key) => key.id)).toEqual(['k1']);
    const first = loadConfig({ ...base, ARGUS_DATA_DIR: dataDir }).grants.signingKeys;
    expect(first).toHaveLength(1);
    expect(first[0]!.secret.length).toBe(32);
    expect(loadConfig({ ...base, ARGUS_DATA_DIR: dataDir }).grants.signingKeys).toEqual(first);
    const file = path.join(dataDir, 'grant-signing-key');
    expect(readFileSync(file, 'utf8')).toContain(`${first[0]!.id}:`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
