import type { KeyObject } from 'node:crypto';
import type { BreakAcknowledgement, ChainAlarm } from '../../shared/audit.ts';
import { lockChainAlarm, storeBreakAcknowledgement } from '../db/auditIntegrity.ts';
import { withTransaction, type Pool } from '../db/pool.ts';
import { canonicalJson } from './canonicalJson.ts';
import { recordAuditEvent, type AuditContext } from './record.ts';
import { publicKeyFingerprint, verifySignature, type AuditSigner } from './signingKey.ts';

type AcknowledgedFacts = Pick<BreakAcknowledgement, 'acknowledgedAt' | 'acknowledgedBy' | 'statement'>;

/**
 * The bytes an acknowledgement's signature covers: RFC 8785 JSON of the alarm it answers
 * (what broke, where, and the head it leaves the chain at), who said what, and when.
 */
export function breakAcknowledgementPayload(alarm: Pick<ChainAlarm, 'id' | 'brokenSeq' | 'reason' | 'headSeq' | 'headHash'>, facts: AcknowledgedFacts): string {
  return canonicalJson({
    type: 'argus.audit.break-acknowledgement',
    alarmId: alarm.id,
    brokenSeq: alarm.brokenSeq,
    reason: alarm.reason,
    headSeq: alarm.headSeq,
    headHash: alarm.headHash,
    statement: facts.statement,
    acknowledgedBy: { id: facts.acknowledgedBy.id, username: facts.acknowledgedBy.username },
    time: facts.acknowledgedAt,
  });
}

export function signBreakAcknowledgement(
  signer: AuditSigner,
  alarm: ChainAlarm,
  { acknowledgedBy, statement, time = new Date() }: { acknowledgedBy: { id: string; username: string }; statement: string; time?: Date },
): BreakAcknowledgement {
  const facts: AcknowledgedFacts = { acknowledgedAt: time.toISOString(), acknowledgedBy, statement };
  return { ...facts, keyFingerprint: signer.fingerprint, signature: signer.sign(breakAcknowledgementPayload(alarm, facts)) };
}

/**
 * Whether an alarm's acknowledgement was signed by a trusted key over exactly what the row
 * says. One written into the table by hand (with the database's credentials, not the key)
 * is no acknowledgement.
 */
export function acknowledgementVerifies(alarm: ChainAlarm, trusted: readonly KeyObject[]): boolean {
  const acknowledgement = alarm.acknowledgement;
  if (!acknowledgement) return false;
  const key = trusted.find((candidate) => publicKeyFingerprint(candidate) === acknowledgement.keyFingerprint);
  return key !== undefined && verifySignature(key, breakAcknowledgementPayload(alarm, acknowledgement), acknowledgement.signature);
}

export type AcknowledgeResult = { acknowledged: true; alarm: ChainAlarm } | { acknowledged: false; reason: 'not_found' | 'already_acknowledged' };

/**
 * An auditor acknowledges a break: Argus signs their statement with the audit signing key,
 * stores it on the alarm and records `audit.chain_break_acknowledged` (with the signature, so
 * the chain itself carries the evidence), all in one transaction. The checkpoint timer then
 * signs again, verifying onwards from the head the alarm recorded.
 */
export async function acknowledgeChainBreak({
  pool,
  signer,
  alarmId,
  statement,
  context,
}: {
  pool: Pool;
  signer: AuditSigner;
  alarmId: number;
  statement: string;
  context: AuditContext & { actor: { id: string; username: string } };
}): Promise<AcknowledgeResult> {
  return withTransaction(pool, async (client) => {
    const alarm = await lockChainAlarm(client, alarmId);
    if (!alarm) return { acknowledged: false, reason: 'not_found' };
    if (alarm.acknowledgement) return { acknowledged: false, reason: 'already_acknowledged' };
    const acknowledgement = signBreakAcknowledgement(signer, alarm, { acknowledgedBy: context.actor, statement });
    const stored = await storeBreakAcknowledgement(client, alarm.id, acknowledgement);
    // The row is locked: it cannot have been acknowledged since it was read.
    if (!stored) return { acknowledged: false, reason: 'already_acknowledged' };
    await recordAuditEvent(client, context, {
      action: 'audit.chain_break_acknowledged',
      outcome: 'success',
      target: { type: 'audit_chain_alarm', id: String(alarm.id) },
      details: {
        alarmId: alarm.id,
        brokenSeq: alarm.brokenSeq,
        reason: alarm.reason,
        headSeq: alarm.headSeq,
        headHash: alarm.headHash,
        statement,
        acknowledgedAt: acknowledgement.acknowledgedAt,
        keyFingerprint: acknowledgement.keyFingerprint,
        signature: acknowledgement.signature,
      },
    });
    return { acknowledged: true, alarm: stored };
  });
}
