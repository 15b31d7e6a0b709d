/**
 * What the verifiers say about a break: where it is, which event is there, and how many
 * events were verified before it — for the database (`verify-audit`) and for an export
 * (`audit:verify`), with a break at the first event, in the middle and at the last.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AuditCheckpoint } from '../../shared/audit.ts';
import { getAuditChainHead, getLatestCheckpoint, insertCheckpoint } from '../db/audit.ts';
import type { Pool } from '../db/pool.ts';
import { useTestDatabase } from '../test/testDatabase.ts';
import { signCheckpoint } from './checkpoint.ts';
import { streamAuditExport } from './export/streamExport.ts';
import { signManifest } from './manifest.ts';
import { AuditSigner } from './signingKey.ts';
import { resetChain, rewriteChainFrom, tamper } from './testing/auditTestKit.ts';
import { verifyAuditChain, verifyAuditCommand } from './verify.ts';
import { describeProblem, verifyExport, type ExportProblem } from './verifyExport.ts';

const testDb = useTestDatabase();
const signer = new AuditSigner(generateKeyPairSync('ed25519').privateKey);

/** resetChain's actions: auth.signin_failed at every third event (#3, #6), auth.signin otherwise. */
const actionAt = (seq: number) => (seq % 3 === 0 ? 'auth.signin_failed' : 'auth.signin');

async function command(pool: Pool, options: Parameters<typeof verifyAuditCommand>[3] = {}): Promise<{ code: number; printed: string[] }> {
  const printed: string[] = [];
  const code = await verifyAuditCommand(pool, signer.trustedPublicKeys, { log: (text) => printed.push(text), error: (text) => printed.push(text) }, options);
  return { code, printed };
}

/** Stores a checkpoint of the current head, as the checkpoint timer would. */
async function checkpointHead(): Promise<AuditCheckpoint> {
  const checkpoint = signCheckpoint(signer, (await getAuditChainHead(testDb.pool))!);
  await insertCheckpoint(testDb.pool, checkpoint);
  return checkpoint;
}

/** A contiguous JSON Lines export of the whole chain with its signed manifest, as runExport writes them. */
async function exportChain(): Promise<{ exportPath: string; manifestJson: string; dir: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'argus-verify-'));
  const exportPath = path.join(dir, 'export.jsonl');
  const head = await getAuditChainHead(testDb.pool);
  const sink = createWriteStream(exportPath);
  const summary = await streamAuditExport({ db: testDb.pool, sink, format: 'jsonl', where: { fromSeq: 1, toSeq: head?.seq ?? 0 } });
  sink.end();
  await finished(sink);
  const checkpoint = summary.firstSeq !== null ? await getLatestCheckpoint(testDb.pool, { minSeq: summary.firstSeq, maxSeq: summary.lastSeq! }) : null;
  const manifest = signManifest(signer, {
    type: 'argus.audit.export-manifest',
    version: 1,
    exportId: '00000000-0000-4000-8000-00000000e0e0',
    format: 'jsonl',
    filter: { fromSeq: 1, toSeq: head?.seq ?? null },
    contiguous: true,
    ...summary,
    exportedAt: new Date().toISOString(),
    exporter: { id: '00000000-0000-4000-8000-000000000001', username: 'vera' },
    checkpoint,
  });
  return { exportPath, manifestJson: JSON.stringify(manifest), dir };
}

const chainBreakOf = (problems: ExportProblem[]) => problems.find((p): p is Extract<ExportProblem, { kind: 'chain_broken' }> => p.kind === 'chain_broken');

beforeEach(async () => {
  await resetChain(testDb.ownerPool, 8);
});

describe('verify-audit names the event at the break and counts the events before it', () => {
  it.each([
    ['the first event', 1],
    ['an event in the middle', 4],
    ['the last event', 8],
  ])('an edit of %s', async (_where, seq) => {
    await tamper(testDb.ownerPool, `UPDATE audit_event SET outcome = 'denied' WHERE seq = $1`, [seq]);
    expect(await verifyAuditChain(testDb.pool, { publicKey: signer.publicKey })).toMatchObject({
      intact: false,
      brokenAt: seq,
      reason: 'hash_mismatch',
      checked: seq - 1,
      found: { seq, action: actionAt(seq) },
    });
    const { code, printed } = await command(testDb.pool);
    expect(code).toBe(1);
    const before = seq - 1 === 1 ? '1 event' : `${seq - 1} events`;
    expect(printed).toEqual([`Audit chain BROKEN at #${seq} (hash_mismatch; found #${seq} ${actionAt(seq)} there); ${before} verified before it; 0 signed checkpoints matched.`]);
  });

  it.each([
    ['the first event', 1],
    ['an event in the middle', 4],
  ])('a deletion of %s names the event found where it was due', async (_where, seq) => {
    await tamper(testDb.ownerPool, 'DELETE FROM audit_event WHERE seq = $1', [seq]);
    const result = await verifyAuditChain(testDb.pool);
    expect(result).toMatchObject({ intact: false, brokenAt: seq, reason: 'sequence_gap', checked: seq - 1, found: { seq: seq + 1, action: actionAt(seq + 1) } });
    expect((await command(testDb.pool)).printed[0]).toMatch(new RegExp(`^Audit chain BROKEN at #${seq} \\(sequence_gap; found #${seq + 1} ${actionAt(seq + 1)} there\\); ${seq - 1} events? verified before it`));
  });

  it('a recomputed chain caught by a checkpoint counts only the events before the checkpoint', async () => {
    await checkpointHead();
    await tamper(testDb.ownerPool, `UPDATE audit_event SET actor_username = 'mallory' WHERE seq = 3`);
    await rewriteChainFrom(testDb.ownerPool, 3);
    expect(await verifyAuditChain(testDb.pool, { publicKey: signer.publicKey })).toMatchObject({
      intact: false,
      brokenAt: 8,
      reason: 'checkpoint_mismatch',
      checked: 7,
      found: { seq: 8, action: 'auth.signin' },
    });
    expect((await command(testDb.pool)).printed).toEqual([
      'Audit chain BROKEN at #8 (checkpoint_mismatch; found #8 auth.signin there); 7 events verified before it; 0 signed checkpoints matched, latest at #8.',
    ]);
  });

  it('a cut-off tail: no event is where the chain ends, and every remaining event was verified', async () => {
    await checkpointHead();
    await tamper(testDb.ownerPool, 'DELETE FROM audit_event WHERE seq >= 7');
    expect(await verifyAuditChain(testDb.pool, { publicKey: signer.publicKey })).toMatchObject({ intact: false, brokenAt: 7, reason: 'truncated', checked: 6, found: null });
    expect((await command(testDb.pool)).printed[0]).toMatch(/^Audit chain BROKEN at #7 \(truncated; no event there\); 6 events verified before it/);
  });

  it('an intact chain', async () => {
    const { code, printed } = await command(testDb.pool);
    expect(code).toBe(0);
    expect(printed).toEqual([expect.stringMatching(/^Audit chain intact: 8 events, head #8 [0-9a-f]{64}; 0 signed checkpoints matched$/)]);
  });
});

describe('audit:verify names the event on the broken line and counts the lines verified before it', () => {
  async function editLine(exportPath: string, lineIndex: number, edit: (line: string) => string | null): Promise<void> {
    const lines = readFileSync(exportPath, 'utf8').split('\n');
    const edited = edit(lines[lineIndex]!);
    if (edited === null) lines.splice(lineIndex, 1);
    else lines[lineIndex] = edited;
    writeFileSync(exportPath, lines.join('\n'));
  }

  it.each([
    ['the first line', 1],
    ['a line in the middle', 4],
    ['the last line', 8],
  ])('an edit of %s', async (_where, seq) => {
    const exported = await exportChain();
    await editLine(exported.exportPath, seq - 1, (line) => line.replace('"outcome":"', '"outcome":"x'));
    const result = await verifyExport({ ...exported, publicKey: signer.publicKey });
    const broken = chainBreakOf(result.problems)!;
    expect(broken).toMatchObject({ seq, line: seq, reason: 'hash_mismatch', found: { seq, action: actionAt(seq) }, verifiedBefore: seq - 1 });
    expect(describeProblem(broken)).toBe(
      `First broken link: line ${seq}, event #${seq} ${actionAt(seq)}: hash mismatch; ${seq - 1 === 1 ? '1 event' : `${seq - 1} events`} verified before it.`,
    );
  });

  it('shows what it found safely: an escape sequence or line break in an edited action cannot act on the terminal', async () => {
    const exported = await exportChain();
    await editLine(exported.exportPath, 1, (line) => line.replace('"action":"', '"action":"\\u001b[2J\\u2028'));
    const broken = chainBreakOf((await verifyExport({ ...exported, publicKey: signer.publicKey })).problems)!;
    expect(broken.found.action).toBe('\u001b[2J\u2028auth.signin');
    const message = describeProblem(broken);
    expect(message).toContain('event #2 \\u{1b}[2J\\u{2028}auth.signin: hash mismatch');
    expect(message).not.toMatch(/[\u001b\u2028]/);
  });

  it('a deleted line: the event on that line is the next one, and the seq that was due is named', async () => {
    const exported = await exportChain();
    await editLine(exported.exportPath, 3, () => null);
    const broken = chainBreakOf((await verifyExport({ ...exported, publicKey: signer.publicKey })).problems)!;
    expect(broken).toMatchObject({ seq: 4, line: 4, reason: 'sequence_gap', found: { seq: 5, action: 'auth.signin' }, verifiedBefore: 3 });
    expect(describeProblem(broken)).toBe('First broken link: line 4, event #5 auth.signin where #4 was due: sequence gap; 3 events verified before it.');
  });
});
