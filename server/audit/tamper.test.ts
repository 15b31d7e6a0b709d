import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChainVerification, ExportManifest } from '../../shared/audit.ts';
import { enrollUser, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';
import { eventHash } from './chain.ts';
import { checkpointChainHead } from './checkpointTimer.ts';
import { signManifest } from './manifest.ts';
import { AuditSigner } from './signingKey.ts';
import { downloadExport, resetChain, rewriteChainFrom, tamper } from './testing/auditTestKit.ts';
import { verifyAuditCommand } from './verify.ts';
import { verifyExport, type ExportVerification } from './verifyExport.ts';
import { main as verifyExportCommand } from './verifyExportCli.ts';

let node: TestNode;
let auditor: TestClient;

beforeAll(async () => {
  // Every case verifies the chain; the per-user verify budget is not what is tested here.
  node = await startTestNode({ ROUTE_RATE_LIMIT_FACTOR: '100' });
  auditor = (await enrollUser(node, { username: 'vera', role: 'auditor' })).client;
});
afterAll(() => node.destroy());

const pool = () => node.deps.pool;
/** The owner's connection: the node's own role may not write the audit tables (sql/000015), an attacker with the owner's may. */
const ownerPool = () => node.ownerPool();
const trustedKey = () => node.deps.auditSigner.publicKey;
const verifyInApp = async () => (await auditor.get<ChainVerification>('/api/audit/verify')).body;

/** Exports the whole chain as JSON Lines and verifies it offline with the trusted key. */
async function exportAndVerifyOffline(): Promise<ExportVerification> {
  const exported = await downloadExport(auditor, 'jsonl');
  return verifyExport({ exportPath: exported.files.exportPath, manifestJson: readFileSync(exported.files.manifestPath, 'utf8'), publicKey: trustedKey() });
}

const chainBreak = (result: ExportVerification) => result.problems.find((p) => p.kind === 'chain_broken');

describe('tampering is caught in the app and offline', () => {
  beforeEach(async () => {
    await resetChain(ownerPool(), 8);
  });

  it('an intact chain verifies in the app and offline', async () => {
    expect(await verifyInApp()).toMatchObject({ intact: true, checked: 8, headSeq: 8 });
    const offline = await exportAndVerifyOffline();
    expect(offline).toMatchObject({ ok: true, chainChecked: true, eventsChecked: 8, problems: [] });
    // `npm run argus -- verify-audit` holds the chain (the export above is event #9) against a checkpoint.
    await checkpointChainHead({ pool: pool(), signer: node.deps.auditSigner });
    const printed: string[] = [];
    expect(await verifyAuditCommand(pool(), trustedKey(), { log: (text) => printed.push(text), error: (text) => printed.push(text) })).toBe(0);
    expect(printed).toEqual([expect.stringMatching(/^Audit chain intact: 9 events, head #9 [0-9a-f]{64}; 1 signed checkpoint matched, latest at #9$/)]);
  });

  it('an edited row', async () => {
    await tamper(ownerPool(), `UPDATE audit_event SET outcome = 'success' WHERE seq = 3`);
    expect(await verifyInApp()).toMatchObject({ intact: false, brokenAt: 3, reason: 'hash_mismatch' });
    expect(chainBreak(await exportAndVerifyOffline())).toMatchObject({ seq: 3, line: 3, reason: 'hash_mismatch' });
  });

  it('a deleted row', async () => {
    await tamper(ownerPool(), 'DELETE FROM audit_event WHERE seq = 4');
    expect(await verifyInApp()).toMatchObject({ intact: false, brokenAt: 4, reason: 'sequence_gap' });
    expect(chainBreak(await exportAndVerifyOffline())).toMatchObject({ seq: 4, reason: 'sequence_gap' });
  });

  it('two swapped rows', async () => {
    await tamper(ownerPool(), 'UPDATE audit_event SET seq = 1000000 WHERE seq = 5');
    await tamper(ownerPool(), 'UPDATE audit_event SET seq = 5 WHERE seq = 6');
    await tamper(ownerPool(), 'UPDATE audit_event SET seq = 6 WHERE seq = 1000000');
    expect(await verifyInApp()).toMatchObject({ intact: false, brokenAt: 5, reason: 'prev_hash_mismatch' });
    expect(chainBreak(await exportAndVerifyOffline())).toMatchObject({ seq: 5, reason: 'prev_hash_mismatch' });
  });

  it('an inserted row, with a correct hash of its own', async () => {
    // Make room at seq 3, then insert an event that links correctly to #2.
    await tamper(ownerPool(), 'UPDATE audit_event SET seq = seq + 1000 WHERE seq >= 3');
    await tamper(ownerPool(), 'UPDATE audit_event SET seq = seq - 999 WHERE seq >= 1003');
    const { rows } = await pool().query<{ hash: string }>('SELECT hash FROM audit_event WHERE seq = 2');
    const forged = {
      seq: 3,
      time: new Date().toISOString(),
      actorId: null,
      actorUsername: 'mallory',
      action: 'user.enabled',
      targetType: null,
      targetId: null,
      outcome: 'success' as const,
      severity: 'medium' as const,
      ip: null,
      userAgent: null,
      model: null,
      details: {},
    };
    await tamper(
      ownerPool(),
      `INSERT INTO audit_event (seq, time, actor_username, action, outcome, severity, details, prev_hash, hash)
       VALUES (3, $1, 'mallory', 'user.enabled', 'success', 'medium', '{}', $2, $3)`,
      [forged.time, rows[0]!.hash, eventHash(rows[0]!.hash, forged)],
    );
    expect(await verifyInApp()).toMatchObject({ intact: false, brokenAt: 4, reason: 'prev_hash_mismatch' });
    expect(chainBreak(await exportAndVerifyOffline())).toMatchObject({ seq: 4, reason: 'prev_hash_mismatch' });
  });

  it('an edited row whose whole chain was recomputed is caught by a signed checkpoint', async () => {
    expect(await checkpointChainHead({ pool: pool(), signer: node.deps.auditSigner })).toMatchObject({ seq: 8 });
    await tamper(ownerPool(), `UPDATE audit_event SET actor_username = 'mallory' WHERE seq = 3`);
    await rewriteChainFrom(ownerPool(), 3);
    // The chain alone is consistent again …
    const verified = await verifyInApp();
    expect(verified).toMatchObject({ intact: false, brokenAt: 8, reason: 'checkpoint_mismatch' });
    // … and offline, the manifest's checkpoint (inside the exported range) catches it too.
    const offline = await exportAndVerifyOffline();
    expect(chainBreak(offline)).toBeUndefined();
    expect(offline.problems).toContainEqual({ kind: 'checkpoint', seq: 8, reason: 'checkpoint_mismatch', source: 'manifest' });
    // … and so does `npm run argus -- verify-audit`.
    const printed: string[] = [];
    const code = await verifyAuditCommand(pool(), trustedKey(), { log: (text) => printed.push(text), error: (text) => printed.push(text) });
    expect(code).toBe(1);
    expect(printed).toEqual(['Audit chain BROKEN at #8 (checkpoint_mismatch; found #8 auth.signin there); 7 events verified before it; 0 signed checkpoints matched, latest at #8.']);
    // --chain-only sees a consistent chain: only the checkpoint catches a full recompute.
    printed.length = 0;
    expect(await verifyAuditCommand(pool(), null, { log: (text) => printed.push(text), error: (text) => printed.push(text) })).toBe(0);
    expect(printed).toEqual([expect.stringMatching(/^Audit chain intact: 9 events, head #9 [0-9a-f]{64}$/)]);
  });

  it('a tail cut off below the latest checkpoint', async () => {
    await checkpointChainHead({ pool: pool(), signer: node.deps.auditSigner });
    await tamper(ownerPool(), 'DELETE FROM audit_event WHERE seq >= 7');
    expect(await verifyInApp()).toMatchObject({ intact: false, brokenAt: 7, reason: 'truncated' });
  });

  it('a forged checkpoint (signed by another key) is reported', async () => {
    const other = new AuditSigner(generateKeyPairSync('ed25519').privateKey);
    await checkpointChainHead({ pool: pool(), signer: other });
    expect(await verifyInApp()).toMatchObject({ intact: false, brokenAt: 8, reason: 'checkpoint_signature_invalid' });
  });

  it('an edited export line', async () => {
    const exported = await downloadExport(auditor, 'jsonl');
    const lines = readFileSync(exported.files.exportPath, 'utf8').split('\n');
    lines[4] = lines[4]!.replace('"outcome":"success"', '"outcome":"failure"');
    writeFileSync(exported.files.exportPath, lines.join('\n'));
    const result = await verifyExport({ exportPath: exported.files.exportPath, manifestJson: readFileSync(exported.files.manifestPath, 'utf8'), publicKey: trustedKey() });
    expect(result.ok).toBe(false);
    expect(chainBreak(result)).toMatchObject({ seq: 5, line: 5, reason: 'hash_mismatch' });
    expect(result.problems).toContainEqual(expect.objectContaining({ kind: 'file_changed' }));
  });

  it('a manifest signed by another key, or changed after signing', async () => {
    const exported = await downloadExport(auditor, 'jsonl');
    const { signature: _s, signingKey: _k, ...unsigned } = exported.manifest;
    const forged = signManifest(new AuditSigner(generateKeyPairSync('ed25519').privateKey), unsigned);
    const byOtherKey = await verifyExport({ exportPath: exported.files.exportPath, manifestJson: JSON.stringify(forged), publicKey: trustedKey() });
    expect(byOtherKey.problems).toEqual([{ kind: 'manifest_signature', reason: 'wrong_key' }]);
    // Claiming the trusted key's fingerprint does not help: the signature does not verify.
    const claimed: ExportManifest = { ...forged, signingKey: exported.manifest.signingKey };
    const result = await verifyExport({ exportPath: exported.files.exportPath, manifestJson: JSON.stringify(claimed), publicKey: trustedKey() });
    expect(result.problems).toEqual([{ kind: 'manifest_signature', reason: 'bad_signature' }]);
    const edited: ExportManifest = { ...exported.manifest, eventCount: 7 };
    const changed = await verifyExport({ exportPath: exported.files.exportPath, manifestJson: JSON.stringify(edited), publicKey: trustedKey() });
    expect(changed.problems).toContainEqual({ kind: 'manifest_signature', reason: 'bad_signature' });
  });

  it('a verifier given a different trusted key refuses a genuine manifest', async () => {
    const exported = await downloadExport(auditor, 'jsonl');
    const stranger = createPublicKey(generateKeyPairSync('ed25519').privateKey);
    const result = await verifyExport({ exportPath: exported.files.exportPath, manifestJson: readFileSync(exported.files.manifestPath, 'utf8'), publicKey: stranger });
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toEqual({ kind: 'manifest_signature', reason: 'wrong_key' });
  });

  it('after a key rotation, an export whose checkpoint the retired key signed verifies offline given both keys, and only then', async () => {
    const retired = new AuditSigner(generateKeyPairSync('ed25519').privateKey);
    await checkpointChainHead({ pool: pool(), signer: retired });
    const exported = await downloadExport(auditor, 'jsonl');
    const manifestJson = readFileSync(exported.files.manifestPath, 'utf8');
    expect((JSON.parse(manifestJson) as ExportManifest).checkpoint).toMatchObject({ seq: 8, keyFingerprint: retired.fingerprint });
    const alone = await verifyExport({ exportPath: exported.files.exportPath, manifestJson, publicKey: trustedKey() });
    expect(alone.problems).toEqual([{ kind: 'checkpoint', seq: 8, reason: 'checkpoint_signature_invalid', source: 'manifest' }]);
    expect(await verifyExport({ exportPath: exported.files.exportPath, manifestJson, publicKey: [trustedKey(), retired.publicKey] })).toMatchObject({
      ok: true,
      checkpointMatched: true,
      problems: [],
    });
    // The command line takes both as repeated --key options.
    const dir = path.dirname(exported.files.exportPath);
    writeFileSync(path.join(dir, 'current.pem'), node.deps.auditSigner.publicKeyPem);
    writeFileSync(path.join(dir, 'retired.pem'), retired.publicKeyPem);
    const args = [exported.files.exportPath, exported.files.manifestPath, '--key', path.join(dir, 'current.pem')];
    expect(await quietly(() => verifyExportCommand(args))).toBe(1);
    expect(await quietly(() => verifyExportCommand([...args, '--key', path.join(dir, 'retired.pem')]))).toBe(0);
  });
});

/** Runs fn with console output swallowed. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    return await fn();
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}
