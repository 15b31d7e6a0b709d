/**
 * Checkpoints received elsewhere catch what the database's own cannot: an insider who
 * rewrites a row, recomputes every later hash and deletes the checkpoint rows.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuditCheckpoint } from '../../shared/audit.ts';
import { getAuditChainHead, insertCheckpoint, listAuditEventsAscending } from '../db/audit.ts';
import { useTestDatabase } from '../test/testDatabase.ts';
import { signCheckpoint } from './checkpoint.ts';
import { eventJson } from './export/formats.ts';
import { checkpointInText, readExternalCheckpoints } from './externalCheckpoints.ts';
import { checkpointRecord } from './sinks/records.ts';
import { recordAuditEvent } from './record.ts';
import { AuditSigner } from './signingKey.ts';
import { exportWholeChain, resetChain, rewriteChainFrom, tamper } from './testing/auditTestKit.ts';
import { runAuditVerify } from './testing/auditVerifyCli.ts';
import { verifyAuditChain, verifyAuditCommand } from './verify.ts';
import { verifyExport } from './verifyExport.ts';

const testDb = useTestDatabase();
const signer = new AuditSigner(generateKeyPairSync('ed25519').privateKey);
const stranger = new AuditSigner(generateKeyPairSync('ed25519').privateKey);
const dir = mkdtempSync(path.join(tmpdir(), 'argus-checkpoints-'));
const keyFile = path.join(dir, 'audit-signing-key.pub.pem');
writeFileSync(keyFile, signer.publicKeyPem);

/** The file sink's line for a checkpoint: its JSON object with the type. */
const sinkLine = (checkpoint: AuditCheckpoint) => JSON.stringify({ type: 'argus.audit.checkpoint', ...checkpoint });

/** Appends `count` events, then signs and stores a checkpoint of the head, as the timer would. */
async function appendAndCheckpoint(count: number): Promise<AuditCheckpoint> {
  for (let i = 0; i < count; i += 1) {
    await recordAuditEvent(testDb.pool, { actor: null, ip: '10.0.0.2', userAgent: 'test' }, { action: 'model.access', outcome: 'success', model: 'restricted-demo' });
  }
  const checkpoint = signCheckpoint(signer, (await getAuditChainHead(testDb.pool))!);
  await insertCheckpoint(testDb.pool, checkpoint);
  return checkpoint;
}

/** What an insider with the owner's credentials does: edit #3, recompute every hash after it, delete the checkpoint rows. */
async function rewriteAndCoverTracks(): Promise<void> {
  await tamper(testDb.ownerPool, `UPDATE audit_event SET actor_username = 'mallory' WHERE seq = 3`);
  await rewriteChainFrom(testDb.ownerPool, 3);
  await tamper(testDb.ownerPool, 'DELETE FROM audit_checkpoint');
}

/** The checkpoints as they reached other systems: the file sink, a syslog file, a SIEM search, among other records. */
function writeReceivedCheckpoints(checkpoints: AuditCheckpoint[], extra: string[] = []): string {
  const file = path.join(mkdtempSync(path.join(dir, 'received-')), 'checkpoints.log');
  const [first, ...rest] = checkpoints;
  writeFileSync(
    file,
    [
      sinkLine(first!),
      '<134>1 2026-11-30T10:00:00.000Z argus-1 argus - - - {"type":"argus.audit.event","seq":1}',
      ...rest.map((checkpoint) => `<134>1 2026-11-30T10:05:00.000Z argus-1 argus - checkpoint - ${sinkLine(checkpoint)}`),
      '',
      'not a record at all',
      ...extra,
    ].join('\n') + '\n',
  );
  return file;
}

describe('reading checkpoints received elsewhere', () => {
  const checkpoint = signCheckpoint(signer, { seq: 12, hash: 'c'.repeat(64) }, new Date('2026-11-30T10:00:00.000Z'));

  it('takes a file sink line, or the JSON object embedded after any prefix', () => {
    expect(checkpointInText(sinkLine(checkpoint))).toEqual(checkpoint);
    expect(checkpointInText(`Nov 30 10:00:00 host argus[42]: ${sinkLine(checkpoint)}`)).toEqual(checkpoint);
    expect(checkpointInText(`2026-11-30T10:00:00Z\tsplunk\t${sinkLine(checkpoint)}\t`)).toEqual(checkpoint);
    // Wrapped in another record (an HTTP collector's envelope), as an object or as JSON text.
    expect(checkpointInText(JSON.stringify({ time: 1, event: { type: 'argus.audit.checkpoint', ...checkpoint } }))).toEqual(checkpoint);
    expect(checkpointInText(JSON.stringify({ time: 1, event: sinkLine(checkpoint) }))).toEqual(checkpoint);
  });

  it('takes what each sink sends for a checkpoint: the JSON line, or the CEF record', () => {
    for (const format of ['jsonl', 'ocsf', 'cef'] as const) {
      const { body } = checkpointRecord(checkpoint, format);
      expect(checkpointInText(body), format).toEqual(checkpoint);
      expect(checkpointInText(`<134>1 2026-11-30T10:00:00.000Z argus-1 argus - - - ${body}`), format).toEqual(checkpoint);
    }
    // A CEF record of an event is not a checkpoint.
    expect(checkpointInText('CEF:0|Argus|Argus|0.1.0|auth.signin|Signed in|1|rt=1 externalId=3 act=auth.signin')).toBeNull();
  });

  it('skips what is not a checkpoint', () => {
    for (const line of [
      '',
      'plain text',
      '{"type":"argus.audit.event","seq":1}',
      sinkLine(checkpoint).slice(0, 80),
      JSON.stringify({ ...JSON.parse(sinkLine(checkpoint)), seq: '12' }),
      JSON.stringify({ ...JSON.parse(sinkLine(checkpoint)), hash: 'not a hash' }),
      JSON.stringify({ ...JSON.parse(sinkLine(checkpoint)), type: 'something.else' }),
    ]) {
      expect(checkpointInText(line), line).toBeNull();
    }
  });

  it('counts the lines skipped and names the checkpoints no trusted key signed', async () => {
    const forged = signCheckpoint(stranger, { seq: 13, hash: 'd'.repeat(64) });
    const file = writeReceivedCheckpoints([checkpoint, checkpoint], [sinkLine(forged)]);
    const read = await readExternalCheckpoints(file, signer.trustedPublicKeys);
    expect(read.checkpoints).toEqual([checkpoint, checkpoint, forged]);
    // The embedded event and the line of text; the blank line is not counted.
    expect(read.skipped).toBe(2);
    expect(read.unverified).toEqual([{ line: 6, seq: 13 }]);
  });
});

describe('a rewrite, recomputed hashes and deleted checkpoint rows', () => {
  let received: string;
  beforeEach(async () => {
    await resetChain(testDb.ownerPool, 0);
    // Checkpoints at #5 and #8, each shipped out as it was signed.
    received = writeReceivedCheckpoints([await appendAndCheckpoint(5), await appendAndCheckpoint(3)]);
  });
  afterEach(() => vi.restoreAllMocks());

  it('fool the database alone, but not the checkpoints received elsewhere: broken at the first one after the edit', async () => {
    await rewriteAndCoverTracks();
    const trusted = { publicKey: signer.trustedPublicKeys };
    expect(await verifyAuditChain(testDb.pool, trusted)).toMatchObject({ intact: true, checked: 8, checkpoints: { checked: 0, latest: null } });
    const { checkpoints } = await readExternalCheckpoints(received, signer.trustedPublicKeys);
    expect(await verifyAuditChain(testDb.pool, { ...trusted, externalCheckpoints: checkpoints })).toMatchObject({
      intact: false,
      brokenAt: 5,
      reason: 'checkpoint_mismatch',
      caughtBy: 'external',
      checked: 4,
      found: { seq: 5, action: 'model.access' },
    });
  });

  it('with the checkpoints intact, the file agrees and both are counted', async () => {
    const printed: string[] = [];
    const code = await verifyAuditCommand(testDb.pool, signer.trustedPublicKeys, { log: (t) => printed.push(t), error: (t) => printed.push(t) }, { checkpointsFiles: [received] });
    expect(code).toBe(0);
    expect(printed).toEqual([
      `External checkpoints from ${received}: 2 read; 2 lines skipped (not a checkpoint).`,
      expect.stringMatching(/^Audit chain intact: 8 events, head #8 [0-9a-f]{64}; 2 signed checkpoints matched, latest at #8; 2 of 2 external checkpoints matched$/),
    ]);
  });

  it('are caught by `npm run audit:verify -- --database --checkpoints FILE`, and only with the file', async () => {
    await rewriteAndCoverTracks();
    const env = { DATABASE_URL: testDb.database.url };
    const withFile = await runAuditVerify(['--database', '--key', keyFile, '--checkpoints', received], env);
    expect(withFile.code).toBe(1);
    expect(withFile.out).toContain('Audit chain BROKEN at #5 (checkpoint_mismatch, by an external checkpoint; found #5 model.access there); 4 events verified before it');
    const without = await runAuditVerify(['--database', '--key', keyFile], env);
    expect(without.code).toBe(0);
    expect(without.out).toContain('Audit chain intact: 8 events');
  });

  it('are caught in an export taken afterwards, by the external checkpoints and only with them', async () => {
    await rewriteAndCoverTracks();
    const exported = await exportWholeChain(testDb.pool, signer, dir);
    const { checkpoints } = await readExternalCheckpoints(received, signer.trustedPublicKeys);
    const manifestJson = readFileSync(exported.manifestPath, 'utf8');
    // The export carries no checkpoint (the rows are gone) and its chain is consistent.
    expect(await verifyExport({ exportPath: exported.exportPath, manifestJson, publicKey: signer.publicKey })).toMatchObject({ ok: true, checkpointMatched: false });
    const held = await verifyExport({ exportPath: exported.exportPath, manifestJson, publicKey: signer.publicKey, externalCheckpoints: checkpoints });
    expect(held.ok).toBe(false);
    expect(held.problems).toEqual([{ kind: 'checkpoint', seq: 5, reason: 'checkpoint_mismatch', source: 'external' }]);

    const args = [exported.exportPath, exported.manifestPath, '--key', keyFile];
    const withFile = await runAuditVerify([...args, '--checkpoints', received]);
    expect(withFile.code).toBe(1);
    expect(withFile.out).toContain('FAIL: Event #5 does not have the hash an external signed checkpoint recorded: history was rewritten.');
    expect((await runAuditVerify(args)).code).toBe(0);
  });

  it('an untouched export matches the external checkpoints that fall on its events', async () => {
    const exported = await exportWholeChain(testDb.pool, signer, dir);
    const result = await runAuditVerify([exported.exportPath, exported.manifestPath, '--key', keyFile, '--checkpoints', received]);
    expect(result.code).toBe(0);
    expect(result.out).toContain('OK: matches 2 of 2 external checkpoints');
  });

  it('a deleted tail is caught by an external checkpoint beyond the new head', async () => {
    await tamper(testDb.ownerPool, 'DELETE FROM audit_event WHERE seq >= 7');
    await tamper(testDb.ownerPool, 'DELETE FROM audit_checkpoint');
    const { checkpoints } = await readExternalCheckpoints(received, signer.trustedPublicKeys);
    expect(await verifyAuditChain(testDb.pool, { publicKey: signer.publicKey })).toMatchObject({ intact: true });
    expect(await verifyAuditChain(testDb.pool, { publicKey: signer.publicKey, externalCheckpoints: checkpoints })).toMatchObject({
      intact: false,
      brokenAt: 7,
      reason: 'truncated',
      caughtBy: 'external',
      checked: 6,
      found: null,
    });
  });

  it('an external checkpoint not signed by a trusted key is reported, with its line, and fails the check', async () => {
    const forged = signCheckpoint(stranger, { seq: 8, hash: (await getAuditChainHead(testDb.pool))!.hash });
    const file = writeReceivedCheckpoints([forged]);
    const result = await runAuditVerify(['--database', '--key', keyFile, '--checkpoints', file], { DATABASE_URL: testDb.database.url });
    expect(result.code).toBe(1);
    expect(result.out).toContain(`FAIL: ${file} line 1: the checkpoint at #8 is not signed by a trusted key.`);
    expect(result.out).toContain('Audit chain BROKEN at #8 (checkpoint_signature_invalid, by an external checkpoint');
  });

  it('refuses bad usage with exit code 2', async () => {
    expect((await runAuditVerify(['--database', 'extra', '--key', keyFile])).code).toBe(2);
    expect((await runAuditVerify(['--database', '--key', keyFile, '--checkpoints', path.join(dir, 'missing.log')], { DATABASE_URL: testDb.database.url })).code).toBe(2);
    const unset = await runAuditVerify(['--database', '--key', keyFile], { DATABASE_URL: '' });
    expect(unset.code).toBe(2);
  });
});

// The JSON Lines writer is what a file sink of events would also write: never mistaken for a checkpoint.
it('does not take an exported event line for a checkpoint', async () => {
  await resetChain(testDb.ownerPool, 1);
  const head = (await getAuditChainHead(testDb.pool))!;
  const [event] = await listAuditEventsAscending(testDb.pool, 0, 1);
  expect(event?.hash).toBe(head.hash);
  expect(checkpointInText(eventJson(event!))).toBeNull();
});
