import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { useTestDatabase } from '../test/testDatabase.ts';
import { checkpointChainHead } from './checkpointTimer.ts';
import { checkpointPayload } from './checkpoint.ts';
import { AuditSigner, DEV_PUBLIC_KEY_FILE, verifySignature } from './signingKey.ts';
import { recordAuditEvent, SYSTEM_CONTEXT } from './record.ts';
import { resetChain } from './testing/auditTestKit.ts';
import { verifyAuditChain } from './verify.ts';

const signer = new AuditSigner(generateKeyPairSync('ed25519').privateKey);

const db = useTestDatabase();

describe('checkpoints', () => {
  beforeEach(() => resetChain(db.ownerPool, 3));

  it('signs the chain head; the signature covers seq, hash and time', async () => {
    const checkpoint = (await checkpointChainHead({ pool: db.pool, signer }))!;
    const { rows } = await db.pool.query<{ hash: string }>('SELECT hash FROM audit_event WHERE seq = 3');
    expect(checkpoint).toMatchObject({ seq: 3, hash: rows[0]!.hash, keyFingerprint: signer.fingerprint });
    expect(verifySignature(signer.publicKey, checkpointPayload(checkpoint), checkpoint.signature)).toBe(true);
    expect(verifySignature(signer.publicKey, checkpointPayload({ ...checkpoint, seq: 2 }), checkpoint.signature)).toBe(false);
    expect(await verifyAuditChain(db.pool, { publicKey: signer.publicKey })).toMatchObject({ intact: true, checkpoints: { checked: 1, latest: checkpoint } });
  });

  it('is written by one node at a time, and not again while the head has not moved', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => checkpointChainHead({ pool: db.pool, signer, minIntervalMs: 60_000 })));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await checkpointChainHead({ pool: db.pool, signer })).toBeNull();
    const { rows } = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM audit_checkpoint');
    expect(Number(rows[0]!.n)).toBe(1);
  });

  it('still counts after a key rotation when the retired public key is configured, and only then', async () => {
    const retired = new AuditSigner(generateKeyPairSync('ed25519').privateKey);
    const before = (await checkpointChainHead({ pool: db.pool, signer: retired }))!;
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const rotated = AuditSigner.fromPem(pem, [retired.publicKeyPem]);
    await recordAuditEvent(db.pool, SYSTEM_CONTEXT, { action: 'auth.signout', outcome: 'success' });
    const after = (await checkpointChainHead({ pool: db.pool, signer: rotated }))!;
    expect(await verifyAuditChain(db.pool, { publicKey: rotated.trustedPublicKeys })).toMatchObject({ intact: true, checkpoints: { checked: 2, latest: after } });
    // Without the retired key its checkpoint is no evidence of anything: reported, never trusted.
    expect(await verifyAuditChain(db.pool, { publicKey: AuditSigner.fromPem(pem).trustedPublicKeys })).toMatchObject({
      intact: false,
      brokenAt: before.seq,
      reason: 'checkpoint_signature_invalid',
    });
  });

  it('is append-only', async () => {
    await checkpointChainHead({ pool: db.pool, signer });
    await expect(db.ownerPool.query('DELETE FROM audit_checkpoint')).rejects.toThrow(/append-only/);
    await expect(db.ownerPool.query("UPDATE audit_checkpoint SET hash = repeat('a', 64)")).rejects.toThrow(/append-only/);
  });
});

describe('signing key configuration', () => {
  const base = { ARGUS_ORIGIN: 'https://argus.example.com', SESSION_SECRET: 's'.repeat(32) };

  it('is required in production', () => {
    expect(() => loadConfig({ ...base, NODE_ENV: 'production' })).toThrow(/AUDIT_SIGNING_KEY_FILE: required/);
  });

  it('accepts an Ed25519 PKCS#8 PEM from a file or the environment, and refuses anything else', () => {
    // Production also requires the grant-record MAC key; this test is about the audit key.
    const production = { ...base, NODE_ENV: 'production', GRANT_SIGNING_KEY: randomBytes(32).toString('base64'), DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    const dir = mkdtempSync(path.join(tmpdir(), 'argus-key-'));
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(path.join(dir, 'key.pem'), pem);
    expect(loadConfig({ ...production, AUDIT_SIGNING_KEY_FILE: path.join(dir, 'key.pem') }).audit.signingKeyPem).toBe(pem);
    expect(loadConfig({ ...production, AUDIT_SIGNING_KEY: pem }).audit.signingKeyPem).toBe(pem);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => loadConfig({ ...production, AUDIT_SIGNING_KEY: rsa })).toThrow(ConfigError);
    expect(() => loadConfig({ ...production, AUDIT_SIGNING_KEY_FILE: path.join(dir, 'missing.pem') })).toThrow(/cannot read/);
  });

  it('reads retired public keys from AUDIT_RETIRED_PUBLIC_KEYS_FILE, naming the variable when it cannot', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'argus-retired-'));
    const publicPem = () => generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const two = [publicPem(), publicPem()];
    writeFileSync(path.join(dir, 'retired.pem'), `# rotated 2026-11\n${two.join('')}`);
    const config = loadConfig({ ...base, ARGUS_DATA_DIR: dir, AUDIT_RETIRED_PUBLIC_KEYS_FILE: path.join(dir, 'retired.pem') });
    expect(config.audit.retiredPublicKeysPem).toEqual(two);
    expect(AuditSigner.fromPem(config.audit.signingKeyPem, config.audit.retiredPublicKeysPem).trustedPublicKeys).toHaveLength(3);
    expect(loadConfig({ ...base, ARGUS_DATA_DIR: dir }).audit.retiredPublicKeysPem).toEqual([]);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(path.join(dir, 'rsa.pem'), rsa);
    writeFileSync(path.join(dir, 'empty.pem'), 'nothing here');
    writeFileSync(path.join(dir, 'broken.pem'), '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
    for (const [file, message] of [['rsa.pem', /rsa key/], ['empty.pem', /no PEM public key/], ['broken.pem', /cannot be read/], ['missing.pem', /cannot read/]] as const) {
      expect(() => loadConfig({ ...base, ARGUS_DATA_DIR: dir, AUDIT_RETIRED_PUBLIC_KEYS_FILE: path.join(dir, file) }), file).toThrow(
        new RegExp(`AUDIT_RETIRED_PUBLIC_KEYS_FILE: .*${message.source}`),
      );
    }
  });

  it('is generated once under the data directory in development, with its public half beside it', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'argus-data-'));
    const first = loadConfig({ ARGUS_DATA_DIR: dataDir }).audit.signingKeyPem;
    expect(loadConfig({ ARGUS_DATA_DIR: dataDir }).audit.signingKeyPem).toBe(first);
    expect(readFileSync(path.join(dataDir, DEV_PUBLIC_KEY_FILE), 'utf8')).toBe(AuditSigner.fromPem(first).publicKeyPem);
  });
});
