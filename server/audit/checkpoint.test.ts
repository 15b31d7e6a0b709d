import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { createPool, type Pool } from '../db/pool.ts';
import { createLogger } from '../log.ts';
import { createTestDatabase } from '../test/harness.ts';
import { checkpointChainHead } from './checkpointTimer.ts';
import { checkpointPayload } from './checkpoint.ts';
import { AuditSigner, DEV_PUBLIC_KEY_FILE, verifySignature } from './signingKey.ts';
import { resetChain } from './testing/auditTestKit.ts';
import { verifyAuditChain } from './verify.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: Pool;
const signer = new AuditSigner(generateKeyPairSync('ed25519').privateKey);

beforeAll(async () => {
  database = await createTestDatabase();
  pool = createPool(database.url, createLogger('silent'));
});
afterAll(async () => {
  await pool.end();
  await database.drop();
});

describe('checkpoints', () => {
  beforeEach(() => resetChain(pool, 3));

  it('signs the chain head; the signature covers seq, hash and time', async () => {
    const checkpoint = (await checkpointChainHead({ pool, signer }))!;
    const { rows } = await pool.query<{ hash: string }>('SELECT hash FROM audit_event WHERE seq = 3');
    expect(checkpoint).toMatchObject({ seq: 3, hash: rows[0]!.hash, keyFingerprint: signer.fingerprint });
    expect(verifySignature(signer.publicKey, checkpointPayload(checkpoint), checkpoint.signature)).toBe(true);
    expect(verifySignature(signer.publicKey, checkpointPayload({ ...checkpoint, seq: 2 }), checkpoint.signature)).toBe(false);
    expect(await verifyAuditChain(pool, { publicKey: signer.publicKey })).toMatchObject({ intact: true, checkpoints: { checked: 1, latest: checkpoint } });
  });

  it('is written by one node at a time, and not again while the head has not moved', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => checkpointChainHead({ pool, signer, minIntervalMs: 60_000 })));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await checkpointChainHead({ pool, signer })).toBeNull();
    const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM audit_checkpoint');
    expect(Number(rows[0]!.n)).toBe(1);
  });

  it('is append-only', async () => {
    await checkpointChainHead({ pool, signer });
    await expect(pool.query('DELETE FROM audit_checkpoint')).rejects.toThrow(/append-only/);
    await expect(pool.query("UPDATE audit_checkpoint SET hash = repeat('a', 64)")).rejects.toThrow(/append-only/);
  });
});

describe('signing key configuration', () => {
  const base = { ARGUS_ORIGIN: 'https://argus.example.com', SESSION_SECRET: 's'.repeat(32) };

  it('is required in production', () => {
    expect(() => loadConfig({ ...base, NODE_ENV: 'production' })).toThrow(/AUDIT_SIGNING_KEY_FILE: required/);
  });

  it('accepts an Ed25519 PKCS#8 PEM from a file or the environment, and refuses anything else', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'argus-key-'));
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(path.join(dir, 'key.pem'), pem);
    expect(loadConfig({ ...base, NODE_ENV: 'production', AUDIT_SIGNING_KEY_FILE: path.join(dir, 'key.pem') }).audit.signingKeyPem).toBe(pem);
    expect(loadConfig({ ...base, NODE_ENV: 'production', AUDIT_SIGNING_KEY: pem }).audit.signingKeyPem).toBe(pem);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => loadConfig({ ...base, NODE_ENV: 'production', AUDIT_SIGNING_KEY: rsa })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, NODE_ENV: 'production', AUDIT_SIGNING_KEY_FILE: path.join(dir, 'missing.pem') })).toThrow(/cannot read/);
  });

  it('is generated once under the data directory in development, with its public half beside it', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'argus-data-'));
    const first = loadConfig({ ARGUS_DATA_DIR: dataDir }).audit.signingKeyPem;
    expect(loadConfig({ ARGUS_DATA_DIR: dataDir }).audit.signingKeyPem).toBe(first);
    expect(readFileSync(path.join(dataDir, DEV_PUBLIC_KEY_FILE), 'utf8')).toBe(AuditSigner.fromPem(first).publicKeyPem);
  });
});
