/**
 * `npm run audit:verify -- --presence`, on a JSON Lines export and on the database: the chain
 * checks still run, the summary counts grants and uses, each forged grant and each unproven use
 * is named with its seq, and the exit code says whether anything failed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useTestDatabase } from '../../test/testDatabase.ts';
import { AuditSigner } from '../signingKey.ts';
import { exportWholeChain, resetChain } from '../testing/auditTestKit.ts';
import { runAuditVerify } from '../testing/auditVerifyCli.ts';
import { DatabaseSink, newUser, PresenceLog } from './testing/presenceLog.ts';

const testDb = useTestDatabase();
const signer = new AuditSigner(generateKeyPairSync('ed25519').privateKey);
const dir = mkdtempSync(path.join(tmpdir(), 'argus-presence-cli-'));
const keyFile = path.join(dir, 'audit-signing-key.pub.pem');
writeFileSync(keyFile, signer.publicKeyPem);
const alice = newUser('alice');

beforeEach(() => resetChain(testDb.ownerPool, 0));
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('audit:verify --presence', () => {
  it('a genuine log: exit 0, every grant and use proven, on the export and on the database', async () => {
    const log = new PresenceLog(new DatabaseSink(testDb.pool));
    const { key } = await log.registerKey(alice);
    await log.signIn(alice, key);
    const { grant } = await log.grant(alice, key);
    await log.use(alice, grant.id);
    const { exportPath, manifestPath } = await exportWholeChain(testDb.pool, signer, dir, { withCheckpoint: false });

    const offline = await runAuditVerify([exportPath, manifestPath, '--key', keyFile, '--presence']);
    expect(offline.code).toBe(0);
    expect(offline.out).toContain('OK: 4 events hash-verified');
    expect(offline.out).toContain('grants proven: 1 of 1');
    expect(offline.out).toContain('restricted uses proven: 1 of 1');
    expect(offline.out).toContain('sign-in and step-up assertions verified: 1 of 1');
    expect(offline.out).not.toContain('FAIL');

    const online = await runAuditVerify(['--database', '--key', keyFile, '--presence'], { DATABASE_URL: testDb.database.url });
    expect(online.code).toBe(0);
    expect(online.out).toContain('Audit chain intact: 4 events');
    expect(online.out).toContain('grants proven: 1 of 1');
  });

  it('a forged grant and uses outside any grant: exit 1, each named with its seq', async () => {
    const log = new PresenceLog(new DatabaseSink(testDb.pool));
    const { key } = await log.registerKey(alice);
    const forged = await log.grant(alice, key, { tamper: { badSignature: true } });
    const underForged = await log.use(alice, forged.grant.id);
    const outside = await log.use(alice, null);
    const { exportPath, manifestPath } = await exportWholeChain(testDb.pool, signer, dir, { withCheckpoint: false });

    for (const { code, out } of [
      await runAuditVerify([exportPath, manifestPath, '--key', keyFile, '--presence']),
      await runAuditVerify(['--database', '--key', keyFile, '--presence'], { DATABASE_URL: testDb.database.url }),
    ]) {
      expect(code).toBe(1);
      expect(out).toContain(`FAIL: #${forged.event.seq} grant.issued: signature_invalid (credential ${key.credentialId})`);
      expect(out).toContain(`FAIL: #${underForged.seq} model.access: grant_unproven (grant ${forged.grant.id}; made at #${forged.event.seq})`);
      expect(out).toContain(`FAIL: #${outside.seq} model.access: use_outside_grant`);
      expect(out).toContain(`FAIL: presence: 2 restricted uses unproven: #${underForged.seq}, #${outside.seq}.`);
      expect(out).toContain('grants proven: 0 of 1');
    }
  });

  it('without --presence the proofs are not checked; a non-JSON Lines export cannot carry them', async () => {
    const log = new PresenceLog(new DatabaseSink(testDb.pool));
    await log.use(alice, null);
    const { exportPath, manifestPath } = await exportWholeChain(testDb.pool, signer, dir, { withCheckpoint: false });
    expect((await runAuditVerify([exportPath, manifestPath, '--key', keyFile])).code).toBe(0);
    const csvManifest = path.join(dir, 'csv-manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(csvManifest, JSON.stringify({ ...manifest, format: 'csv' }));
    const { code, out } = await runAuditVerify([exportPath, csvManifest, '--key', keyFile, '--presence']);
    expect(code).toBe(2);
    expect(out).toContain('--presence reads the recorded signatures from a JSON Lines export; this one is csv.');
  });
});
