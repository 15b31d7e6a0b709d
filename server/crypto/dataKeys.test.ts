import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { DataKeys, UnreadableCiphertextError, parseDataEncryptionKeys, persistedDataEncryptionKey } from './dataKeys.ts';

const kek = (id: string) => ({ id, key: randomBytes(32) });
const unreadable = (reason: string, what: string) => expect.objectContaining({ name: 'UnreadableCiphertextError', reason, what });

describe('data keys', () => {
  const keys = new DataKeys([kek('k1')]);
  const conversation = randomUUID();
  const message = randomUUID();

  it('seals and opens messages and titles under a per-conversation data key', () => {
    const { key, stored } = keys.newDataKey(conversation);
    expect(stored.kekId).toBe('k1');
    expect(stored.wrapped).toHaveLength(1 + 12 + 16 + 32);
    const sealed = key.sealMessage(message, 'user', 'the harbour code is 4417 ✓');
    expect(sealed[0]).toBe(1);
    expect(sealed.toString('latin1')).not.toContain('4417');
    const opened = keys.unwrap(conversation, stored);
    expect(opened.openMessage(message, 'user', sealed)).toBe('the harbour code is 4417 ✓');
    expect(opened.openTitle(key.sealTitle('A title'))).toBe('A title');
    expect(opened.openMessage(message, 'assistant', key.sealMessage(message, 'assistant', ''))).toBe('');
    // Random IVs: the same text never seals the same way twice.
    expect(key.sealTitle('same').equals(key.sealTitle('same'))).toBe(false);
  });

  it('binds each ciphertext to its conversation, message and role, and the data key to its conversation and KEK', () => {
    const { key, stored } = keys.newDataKey(conversation);
    const sealed = key.sealMessage(message, 'user', 'secret');
    expect(() => key.openMessage(randomUUID(), 'user', sealed)).toThrow(unreadable('auth_failed', 'message'));
    expect(() => key.openMessage(message, 'assistant', sealed)).toThrow(unreadable('auth_failed', 'message'));
    expect(() => keys.newDataKey(randomUUID()).key.openMessage(message, 'user', sealed)).toThrow(UnreadableCiphertextError);
    expect(() => key.openTitle(sealed)).toThrow(unreadable('auth_failed', 'title'));
    expect(() => keys.unwrap(randomUUID(), stored)).toThrow(unreadable('auth_failed', 'data_key'));
    // Another KEK under the same id (a key replaced instead of rotated), or an id that is not configured.
    expect(() => new DataKeys([kek('k1')]).unwrap(conversation, stored)).toThrow(unreadable('auth_failed', 'data_key'));
    expect(() => keys.unwrap(conversation, { ...stored, kekId: 'k0' })).toThrow(unreadable('unknown_kek', 'data_key'));
    // Any flipped bit, a truncated value, an unknown format version.
    for (const at of [0, 5, 20, sealed.length - 1]) {
      const tampered = Buffer.from(sealed);
      tampered[at]! ^= 0x01;
      expect(() => key.openMessage(message, 'user', tampered)).toThrow(UnreadableCiphertextError);
    }
    expect(() => key.openMessage(message, 'user', sealed.subarray(0, 20))).toThrow(unreadable('bad_format', 'message'));
  });

  it('re-wraps a data key under the current KEK without changing it', () => {
    const old = new DataKeys([kek('k1')]);
    const { key, stored } = old.newDataKey(conversation);
    const sealed = key.sealMessage(message, 'assistant', 'kept as it is');
    const rotating = new DataKeys([kek('k2'), old.keys[0]!]);
    const rewrapped = rotating.rewrap(conversation, stored);
    expect(rewrapped.kekId).toBe('k2');
    expect(new DataKeys([rotating.keys[0]!]).unwrap(conversation, rewrapped).openMessage(message, 'assistant', sealed)).toBe('kept as it is');
    expect(() => rotating.unwrap(conversation, { wrapped: rewrapped.wrapped, kekId: 'k1' })).toThrow(UnreadableCiphertextError);
  });

  it('reads keys from configuration, and refuses what is not 32 bytes of base64 under a good id', () => {
    const b64 = randomBytes(32).toString('base64');
    expect(parseDataEncryptionKeys(`k2:${b64},k1:${b64}`).map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(parseDataEncryptionKeys(b64, { single: true })[0]!.id).toBe('default');
    expect(() => parseDataEncryptionKeys(b64)).toThrow(/not id:base64/);
    expect(() => parseDataEncryptionKeys(`k1:${randomBytes(16).toString('base64')}`)).toThrow(/16 bytes; AES-256 needs exactly 32/);
    expect(() => parseDataEncryptionKeys(`k1:${b64},k1:${b64}`)).toThrow(/listed twice/);
    expect(() => parseDataEncryptionKeys(`bad id:${b64}`)).toThrow(/key id/);
    expect(() => parseDataEncryptionKeys(`k1:${b64},k2:${b64}`, { single: true })).toThrow(/DATA_ENCRYPTION_KEYS/);
  });

  it('is required in production, read from a file, and generated once (0600) under the data directory otherwise', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'argus-data-key-'));
    const base = { ARGUS_DATA_DIR: dataDir, SESSION_SECRET: 's'.repeat(32) };
    // The other keys production requires are given, so this test is about the data key.
    const withAudit = {
      ...base,
      NODE_ENV: 'production',
      ARGUS_ORIGIN: 'https://argus.example.com',
      GRANT_SIGNING_KEY: randomBytes(32).toString('base64'),
      AUDIT_SIGNING_KEY: generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
    expect(() => loadConfig(withAudit)).toThrow(/DATA_ENCRYPTION_KEYS: required when NODE_ENV=production/);
    expect(existsSync(path.join(dataDir, 'data-encryption-key'))).toBe(false);
    const file = path.join(dataDir, 'kek');
    writeFileSync(file, `k9:${randomBytes(32).toString('base64')}\n`);
    expect(loadConfig({ ...withAudit, DATA_ENCRYPTION_KEY_FILE: file }).dataEncryptionKeys.map((k) => k.id)).toEqual(['k9']);
    expect(() => loadConfig({ ...withAudit, DATA_ENCRYPTION_KEY_FILE: path.join(dataDir, 'missing') })).toThrow(/cannot read/);
    expect(() => loadConfig({ ...withAudit, DATA_ENCRYPTION_KEY_FILE: file, DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64') })).toThrow(/only one/);

    const first = persistedDataEncryptionKey(dataDir);
    expect(first.key).toHaveLength(32);
    expect(persistedDataEncryptionKey(dataDir)).toEqual(first);
    expect(loadConfig(base).dataEncryptionKeys).toEqual([first]);
    const stored = path.join(dataDir, 'data-encryption-key');
    expect(readFileSync(stored, 'utf8')).toMatch(/^local:/);
    expect(statSync(stored).mode & 0o777).toBe(0o600);
  });
});
