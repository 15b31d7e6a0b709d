import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { AcknowledgeBreakResponse, AuditEventView, ChainAlarm } from '../../shared/audit.ts';
import { getAuditChainHead, getLatestCheckpoint, insertCheckpoint, searchAuditEvents } from '../db/audit.ts';
import { listChainAlarms } from '../db/auditIntegrity.ts';
import { withClient } from '../db/pool.ts';
import { registry } from '../metrics.ts';
import { enrollSteppedUpAdmin, enrollUser, errorCode, expireStepUp, lastAudit, startSiblingNode, startTestNode, stepUpWith, type TestNode } from '../test/harness.ts';
import { TestSocket } from '../test/wsClient.ts';
import { breakAcknowledgementPayload } from './breakAcknowledgement.ts';
import { signCheckpoint } from './checkpoint.ts';
import { recordAuditEvent, SYSTEM_CONTEXT } from './record.ts';
import { AuditSigner, verifySignature } from './signingKey.ts';
import { rewriteChainFrom, tamper } from './testing/auditTestKit.ts';

/**
 * Verify before signing (docs/audit-chain.md): the checkpoint timer of a real node, driven one
 * tick at a time, against a database an insider changed with the owner's credentials.
 */

const nodes: TestNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((node) => node.destroy()));
});

async function newNode(): Promise<TestNode> {
  const node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
  nodes.push(node);
  return node;
}

/** One timer tick, without the half-interval pause between checkpoints (not what is tested here). */
const tick = (node: TestNode) => node.checkpoints.tick({ minIntervalMs: 0 });

async function appendEvents(node: TestNode, count: number): Promise<{ seq: number; hash: string }> {
  for (let n = 0; n < count; n += 1) await recordAuditEvent(node.deps.pool, SYSTEM_CONTEXT, { action: 'auth.signout', outcome: 'success', details: { n } });
  return (await getAuditChainHead(node.deps.pool))!;
}

/** An event inserted with a made-up hash, as the owner (the server's role cannot INSERT into audit_event at all). */
async function insertForgedEvent(node: TestNode, hash = randomBytes(32).toString('hex')): Promise<number> {
  const head = (await getAuditChainHead(node.deps.pool))!;
  await node
    .ownerPool()
    .query(
      `INSERT INTO audit_event (seq, time, actor_username, action, outcome, severity, details, prev_hash, hash)
       VALUES ($1, now(), 'mallory', 'user.enabled', 'success', 'medium', '{}', $2, $3)`,
      [head.seq + 1, head.hash, hash],
    );
  return head.seq + 1;
}

const breakEvents = (node: TestNode): Promise<AuditEventView[]> => searchAuditEvents(node.deps.pool, { action: 'audit.chain_break_detected' }, { limit: 10 });

async function intactGauge(): Promise<number> {
  const text = await registry.getSingleMetricAsString('argus_audit_chain_intact');
  return Number(/^argus_audit_chain_intact (\S+)$/m.exec(text)?.[1]);
}

async function readyz(node: TestNode): Promise<{ status: number; body: { status: string; details: { auditChain: Record<string, unknown> } } }> {
  const response = await fetch(`${node.url}/readyz`);
  return { status: response.status, body: (await response.json()) as never };
}

/** A break found by `node`'s timer: the alarm it raised. */
async function breakChain(node: TestNode): Promise<ChainAlarm> {
  await appendEvents(node, 4);
  expect(await tick(node)).toMatchObject({ outcome: 'signed' });
  await insertForgedEvent(node);
  const attempt = await tick(node);
  expect(attempt).toMatchObject({ outcome: 'refused', raised: true });
  return (attempt as { alarm: ChainAlarm }).alarm;
}

describe('verify before signing', () => {
  it('signs an intact chain, verified from genesis the first time and from the last checkpoint after', async () => {
    const node = await newNode();
    const first = await appendEvents(node, 5);
    expect(await tick(node)).toEqual({ outcome: 'signed', checkpoint: expect.objectContaining({ seq: first.seq, hash: first.hash }) });
    expect(await tick(node)).toEqual({ outcome: 'skipped', why: 'unchanged' });
    const second = await appendEvents(node, 3);
    expect(await tick(node)).toEqual({ outcome: 'signed', checkpoint: expect.objectContaining({ seq: second.seq, hash: second.hash }) });
    expect(await intactGauge()).toBe(1);
    expect((await readyz(node)).body.details.auditChain).toEqual({ intact: true });
  });

  it('does not sign a row inserted with a made-up hash: one alarm, one critical event, the gauge at 0, /readyz says so', async () => {
    const node = await newNode();
    const signed = await appendEvents(node, 5);
    expect(await tick(node)).toMatchObject({ outcome: 'signed', checkpoint: { seq: signed.seq } });
    const forgedSeq = await insertForgedEvent(node, 'f'.repeat(64));

    const attempt = await tick(node);
    expect(attempt).toMatchObject({
      outcome: 'refused',
      raised: true,
      alarm: { brokenSeq: forgedSeq, reason: 'hash_mismatch', headSeq: forgedSeq, headHash: 'f'.repeat(64), acknowledgement: null },
    });
    const alarm = (attempt as { alarm: ChainAlarm }).alarm;
    expect((await getLatestCheckpoint(node.deps.pool))!.seq).toBe(signed.seq);

    // Later ticks keep refusing, without raising the same break again.
    await appendEvents(node, 2);
    expect(await tick(node)).toMatchObject({ outcome: 'refused', raised: false, alarm: { id: alarm.id } });
    expect((await getLatestCheckpoint(node.deps.pool))!.seq).toBe(signed.seq);
    expect(await listChainAlarms(node.deps.pool, 10)).toEqual([alarm]);
    const events = await breakEvents(node);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      severity: 'critical',
      outcome: 'failure',
      actorId: null,
      targetType: 'audit_chain_alarm',
      targetId: String(alarm.id),
      details: { alarmId: alarm.id, brokenSeq: forgedSeq, reason: 'hash_mismatch', headSeq: forgedSeq },
    });

    expect(await intactGauge()).toBe(0);
    // Reported in the details; the node stays ready (the chain is every node's).
    const ready = await readyz(node);
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
    expect(ready.body.details.auditChain).toEqual({ intact: false, alarmId: alarm.id, brokenSeq: forgedSeq, reason: 'hash_mismatch', detectedAt: alarm.detectedAt, headSeq: forgedSeq });
  });

  it('catches a row rewritten below the last checkpoint with every later hash recomputed', async () => {
    const node = await newNode();
    const signed = await appendEvents(node, 8);
    expect(await tick(node)).toMatchObject({ outcome: 'signed', checkpoint: { seq: signed.seq } });
    await tamper(node.ownerPool(), `UPDATE audit_event SET actor_username = 'mallory' WHERE seq = $1`, [signed.seq - 5]);
    await rewriteChainFrom(node.ownerPool(), signed.seq - 5);
    // The chain alone is consistent again, and has not even moved: the checkpoint catches it.
    expect(await tick(node)).toMatchObject({ outcome: 'refused', raised: true, alarm: { brokenSeq: signed.seq, reason: 'checkpoint_mismatch' } });
    expect((await getLatestCheckpoint(node.deps.pool))!.seq).toBe(signed.seq);
  });

  it('catches a rewrite whose checkpoints were deleted too, by the highest checkpoint this node signed', async () => {
    const node = await newNode();
    const signed = await appendEvents(node, 8);
    expect(await tick(node)).toMatchObject({ outcome: 'signed', checkpoint: { seq: signed.seq } });
    await tamper(node.ownerPool(), `UPDATE audit_event SET outcome = 'failure' WHERE seq = $1`, [signed.seq - 5]);
    await rewriteChainFrom(node.ownerPool(), signed.seq - 5);
    // What an insider with the owner's credentials does to the append-only checkpoint table.
    await withClient(node.ownerPool(), async (owner) => {
      await owner.query('BEGIN');
      await owner.query('ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_no_update_delete');
      await owner.query('DELETE FROM audit_checkpoint');
      await owner.query('ALTER TABLE audit_checkpoint ENABLE TRIGGER audit_checkpoint_no_update_delete');
      await owner.query('COMMIT');
    });
    expect(await getLatestCheckpoint(node.deps.pool)).toBeNull();
    expect(await tick(node)).toMatchObject({ outcome: 'refused', raised: true, alarm: { brokenSeq: signed.seq, reason: 'checkpoints_deleted' } });
    expect(await getLatestCheckpoint(node.deps.pool)).toBeNull();
  });

  it('does not take a checkpoint signed by another key as where to start', async () => {
    const node = await newNode();
    await appendEvents(node, 4);
    expect(await tick(node)).toMatchObject({ outcome: 'signed' });
    const head = await appendEvents(node, 2);
    // The server's own role can append a checkpoint for a real event; only the key makes it evidence.
    await insertCheckpoint(node.deps.pool, signCheckpoint(new AuditSigner(generateKeyPairSync('ed25519').privateKey), head));
    await appendEvents(node, 1);
    expect(await tick(node)).toMatchObject({ outcome: 'refused', raised: true, alarm: { brokenSeq: head.seq, reason: 'checkpoint_signature_invalid' } });
  });

  it('stops every node from signing while the break waits, and tells every node’s reviewers', async () => {
    const a = await newNode();
    const b = await startSiblingNode(a);
    nodes.push(b);
    const auditorOnB = await enrollUser(b, { username: 'bea', role: 'auditor' });
    const socket = await TestSocket.open(b.url, { cookie: auditorOnB.client.cookie, origin: auditorOnB.client.origin });
    try {
      await appendEvents(a, 3);
      expect(await tick(b)).toMatchObject({ outcome: 'signed' });
      await insertForgedEvent(a);
      const raised = await tick(a);
      expect(raised).toMatchObject({ outcome: 'refused', raised: true });
      const alarm = (raised as { alarm: ChainAlarm }).alarm;
      // B finds the alarm in the table they share before it looks at the chain.
      await appendEvents(a, 2);
      expect(await tick(b)).toMatchObject({ outcome: 'refused', raised: false, alarm: { id: alarm.id } });
      expect((await readyz(b)).body.details.auditChain).toMatchObject({ intact: false, alarmId: alarm.id });
      // The critical event reaches reviewers connected to the other node.
      for (;;) {
        const { event } = await socket.next('SECURITY_EVENT');
        if (event.action !== 'audit.chain_break_detected') continue;
        expect(event).toMatchObject({ severity: 'critical', details: { alarmId: alarm.id } });
        break;
      }
    } finally {
      socket.socket.close();
    }
  });
});

describe('acknowledging a break', () => {
  const statement = 'Event #5 was inserted by hand during the November incident; reviewed with the DBA (ticket SEC-42).';
  const path = (alarm: ChainAlarm) => `/api/audit/chain-alarms/${alarm.id}/acknowledge`;

  it('is for a stepped-up auditor with a statement; Argus signs it, records it, and signing resumes from the acknowledged head', async () => {
    const node = await newNode();
    const auditor = await enrollUser(node, { username: 'vera', role: 'auditor' });
    const admin = await enrollSteppedUpAdmin(node, 'ada');
    const user = await enrollUser(node, { username: 'uma' });
    const alarm = await breakChain(node);

    // Admins and users are refused, whatever their step-up.
    for (const client of [user.client, admin.client]) {
      const refused = await client.post(path(alarm), { statement });
      expect(refused.status).toBe(403);
      expect(errorCode(refused)).toBe('FORBIDDEN');
    }
    // An auditor needs a fresh touch of their key.
    await expireStepUp(node, auditor.client);
    expect(errorCode(await auditor.client.post(path(alarm), { statement }))).toBe('STEP_UP_REQUIRED');
    await stepUpWith(auditor.client, auditor.authenticator);
    // A statement is required: not missing, blank, a word, or an essay.
    for (const body of [{}, { statement: '' }, { statement: ' \n\t '.repeat(5) }, { statement: 'ok, fine' }, { statement: 'x'.repeat(501) }, { statement: 42 }]) {
      const refused = await auditor.client.post(path(alarm), body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(errorCode(refused)).toBe('VALIDATION_FAILED');
    }
    expect(errorCode(await auditor.client.post('/api/audit/chain-alarms/999999/acknowledge', { statement }))).toBe('NOT_FOUND');
    expect(errorCode(await auditor.client.post('/api/audit/chain-alarms/abc/acknowledge', { statement }))).toBe('VALIDATION_FAILED');
    // None of that acknowledged anything.
    expect(await tick(node)).toMatchObject({ outcome: 'refused', raised: false, alarm: { id: alarm.id } });

    const answer = await auditor.client.post<AcknowledgeBreakResponse>(path(alarm), { statement: `  ${statement}\n` });
    expect(answer.status).toBe(200);
    const acknowledged = answer.body.alarm;
    expect(acknowledged).toMatchObject({
      id: alarm.id,
      acknowledgement: { acknowledgedBy: { id: auditor.userId, username: 'vera' }, statement, keyFingerprint: node.deps.auditSigner.fingerprint },
    });
    expect(errorCode(await auditor.client.post(path(alarm), { statement }))).toBe('CONFLICT');

    // The acknowledgement is in the chain, with a signature anyone holding the public key can check.
    const recorded = (await lastAudit(node, 'audit.chain_break_acknowledged'))!;
    expect(recorded).toMatchObject({ severity: 'high', outcome: 'success', actorId: auditor.userId, targetId: String(alarm.id) });
    const details = recorded.details as { alarmId: number; brokenSeq: number; reason: ChainAlarm['reason']; headSeq: number; headHash: string; statement: string; acknowledgedAt: string; signature: string };
    const payload = breakAcknowledgementPayload(
      { id: details.alarmId, brokenSeq: details.brokenSeq, reason: details.reason, headSeq: details.headSeq, headHash: details.headHash },
      { acknowledgedAt: details.acknowledgedAt, acknowledgedBy: { id: recorded.actorId!, username: recorded.actorUsername! }, statement: details.statement },
    );
    expect(JSON.parse(payload)).toMatchObject({ type: 'argus.audit.break-acknowledgement', alarmId: alarm.id, headSeq: alarm.headSeq, statement });
    expect(verifySignature(node.deps.auditSigner.publicKey, payload, details.signature)).toBe(true);
    expect(verifySignature(node.deps.auditSigner.publicKey, payload.replace('SEC-42', 'SEC-43'), details.signature)).toBe(false);

    // Signing resumes: verified from the acknowledged head, up to and including the acknowledgement.
    expect(await tick(node)).toMatchObject({ outcome: 'signed', checkpoint: { seq: recorded.seq, hash: recorded.hash } });
    expect(await intactGauge()).toBe(1);
    expect((await readyz(node)).body.details.auditChain).toEqual({ intact: true });

    // A new break after that is a new alarm.
    await insertForgedEvent(node);
    const again = await tick(node);
    expect(again).toMatchObject({ outcome: 'refused', raised: true, alarm: { reason: 'hash_mismatch' } });
    expect((again as { alarm: ChainAlarm }).alarm.id).not.toBe(alarm.id);
    expect(await breakEvents(node)).toHaveLength(2);
  });

  it('is no acknowledgement when written into the table without the signing key', async () => {
    const node = await newNode();
    const alarm = await breakChain(node);
    // The server's role may UPDATE the alarm table (it acknowledges through it), so an insider with its credentials can too.
    await node.deps.pool.query(
      `UPDATE audit_chain_alarm SET acknowledged_at = now(), acknowledged_by = gen_random_uuid(), acknowledged_by_username = 'mallory',
         statement = 'nothing to see here', ack_key_fingerprint = $2, ack_signature = $3 WHERE id = $1`,
      [alarm.id, node.deps.auditSigner.fingerprint, Buffer.alloc(64).toString('base64')],
    );
    expect(await tick(node)).toMatchObject({ outcome: 'refused', raised: true, alarm: { brokenSeq: alarm.brokenSeq, reason: 'acknowledgement_invalid' } });
    expect(await getLatestCheckpoint(node.deps.pool)).toMatchObject({ seq: alarm.headSeq! - 1 });
  });

  it('keeps every alarm: the server’s role cannot delete one, and an acknowledgement cannot be changed', async () => {
    const node = await newNode();
    const auditor = await enrollUser(node, { username: 'vera', role: 'auditor' });
    const alarm = await breakChain(node);
    await expect(node.deps.pool.query('DELETE FROM audit_chain_alarm')).rejects.toMatchObject({ code: '42501' });
    await expect(node.ownerPool().query('DELETE FROM audit_chain_alarm')).rejects.toThrow(/never removed/);
    await expect(node.ownerPool().query('UPDATE audit_chain_alarm SET broken_seq = 1')).rejects.toThrow(/never removed/);
    expect((await auditor.client.post(path(alarm), { statement })).status).toBe(200);
    await expect(node.deps.pool.query(`UPDATE audit_chain_alarm SET statement = 'something else'`)).rejects.toThrow(/never removed/);
    expect(await listChainAlarms(node.deps.pool, 10)).toMatchObject([{ id: alarm.id, acknowledgement: { statement } }]);
  });
});

describe('the signed acknowledgement', () => {
  it('covers the RFC 8785 JSON that docs/audit-chain.md shows', () => {
    const payload = breakAcknowledgementPayload(
      { id: 7, brokenSeq: 41, reason: 'hash_mismatch', headSeq: 42, headHash: 'a'.repeat(64) },
      { acknowledgedAt: '2026-12-06T10:00:00.000Z', acknowledgedBy: { id: 'u-1', username: 'vera' }, statement: 'Row "41" was — é — fixed' },
    );
    expect(payload).toBe(
      `{"acknowledgedBy":{"id":"u-1","username":"vera"},"alarmId":7,"brokenSeq":41,"headHash":"${'a'.repeat(64)}","headSeq":42,` +
        '"reason":"hash_mismatch","statement":"Row \\"41\\" was — é — fixed","time":"2026-12-06T10:00:00.000Z","type":"argus.audit.break-acknowledgement"}',
    );
  });
});
