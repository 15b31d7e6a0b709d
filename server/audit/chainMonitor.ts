import type { KeyObject } from 'node:crypto';
import { Gauge } from 'prom-client';
import type { AuditCheckpoint, ChainAlarm, ChainAlarmReason } from '../../shared/audit.ts';
import { getAuditChainHead, listAuditEventsAscending } from '../db/audit.ts';
import { getAuditEventHash, getNewestCheckpoint, getOpenChainAlarm, insertChainAlarm } from '../db/auditIntegrity.ts';
import type { Pool, Queryable } from '../db/pool.ts';
import { registry } from '../metrics.ts';
import { acknowledgementVerifies } from './breakAcknowledgement.ts';
import { ChainVerifier, GENESIS_HASH } from './chain.ts';
import { checkpointPayload } from './checkpoint.ts';
import { recordAuditEvent, SYSTEM_CONTEXT } from './record.ts';
import { publicKeyFingerprint, verifySignature } from './signingKey.ts';

/**
 * Verify before signing (docs/audit-chain.md): before a checkpoint is signed, the chain is
 * verified from the last point something signed — the latest checkpoint, or the head an
 * auditor acknowledged after a break — to the head. The cost is bounded by the events since
 * then. A break raises an alarm that stops signing on every node until acknowledged.
 */

const BATCH = 2_000;

/** A point of the chain vouched for by a signature: nothing at or before it is walked again. */
export interface ChainAnchor {
  seq: number;
  hash: string;
  by: 'genesis' | 'checkpoint' | 'acknowledgement';
}

export type ChainBreakFound = { intact: false; brokenSeq: number; reason: ChainAlarmReason };

/**
 * What this process remembers of the checkpoint table: the highest checkpoint seq it signed
 * or saw since the newest acknowledgement it knows of. Checkpoint rows are evidence; if the
 * table's latest one is now lower, rows were deleted (possibly to hide a rewrite), and that is
 * a break too. Memory only: a process started after the deletion cannot tell (evidence kept
 * outside the database can: see docs/audit-chain.md).
 */
export class CheckpointMemory {
  private highestSeq = 0;
  private acknowledgementId: number | null = null;

  /**
   * The lowest seq the table's latest checkpoint may have now. An acknowledgement this process
   * has not seen yet accepts the table as it stands (the auditor has looked at it).
   */
  floor(acknowledgementId: number | null): number {
    return acknowledgementId === this.acknowledgementId ? this.highestSeq : 0;
  }

  /** After a transaction that found the chain intact: the checkpoint it saw or signed. */
  remember(acknowledgementId: number | null, checkpointSeq: number): void {
    if (acknowledgementId !== this.acknowledgementId) {
      this.acknowledgementId = acknowledgementId;
      this.highestSeq = checkpointSeq;
      return;
    }
    this.highestSeq = Math.max(this.highestSeq, checkpointSeq);
  }
}

function checkpointVerifies(checkpoint: AuditCheckpoint, trusted: readonly KeyObject[]): boolean {
  const key = trusted.find((candidate) => publicKeyFingerprint(candidate) === checkpoint.keyFingerprint);
  return key !== undefined && verifySignature(key, checkpointPayload(checkpoint), checkpoint.signature);
}

export type AnchorCheck =
  | {
      intact: true;
      anchor: ChainAnchor;
      head: { seq: number; hash: string } | null;
      /** The checkpoint signed last, and the highest seq of any (for CheckpointMemory). */
      latestCheckpoint: AuditCheckpoint | null;
      highestCheckpointSeq: number;
    }
  | ChainBreakFound;

/**
 * The cheap half of the verification, a few rows whatever the chain's length: picks the
 * anchor and checks that it still holds.
 * - `acknowledged`: the newest alarm, when it is acknowledged (an open one stops everything
 *   before this is called); its signature must verify.
 * - `floor`: CheckpointMemory's floor for that acknowledgement.
 */
export async function checkChainAnchor(
  db: Queryable,
  { acknowledged, trusted, floor }: { acknowledged: ChainAlarm | null; trusted: readonly KeyObject[]; floor: number },
): Promise<AnchorCheck> {
  // An acknowledgement nobody signed (written into the table by hand) acknowledges nothing.
  if (acknowledged && !acknowledgementVerifies(acknowledged, trusted)) {
    return { intact: false, brokenSeq: acknowledged.brokenSeq, reason: 'acknowledgement_invalid' };
  }
  const { checkpoint: latestCheckpoint, highestSeq } = await getNewestCheckpoint(db);
  const head = await getAuditChainHead(db);
  // Checkpoint rows this process signed or saw are gone.
  if (highestSeq < floor) return { intact: false, brokenSeq: floor, reason: 'checkpoints_deleted' };

  let anchor: ChainAnchor = { seq: 0, hash: GENESIS_HASH, by: 'genesis' };
  const acknowledgedAt = acknowledged?.acknowledgement?.acknowledgedAt;
  // The newer of the two: a checkpoint signed before the acknowledgement may predate the break.
  if (latestCheckpoint && (acknowledgedAt === undefined || Date.parse(latestCheckpoint.time) > Date.parse(acknowledgedAt))) {
    if (!checkpointVerifies(latestCheckpoint, trusted)) return { intact: false, brokenSeq: latestCheckpoint.seq, reason: 'checkpoint_signature_invalid' };
    anchor = { seq: latestCheckpoint.seq, hash: latestCheckpoint.hash, by: 'checkpoint' };
  } else if (acknowledged && acknowledged.headSeq !== null && acknowledged.headHash !== null) {
    anchor = { seq: acknowledged.headSeq, hash: acknowledged.headHash, by: 'acknowledgement' };
  }

  if (anchor.seq > 0) {
    const stored = await getAuditEventHash(db, anchor.seq);
    // The chain now ends before the anchor: its tail was cut off.
    if (stored === null && (head?.seq ?? 0) < anchor.seq) return { intact: false, brokenSeq: (head?.seq ?? 0) + 1, reason: 'truncated' };
    if (stored === null) return { intact: false, brokenSeq: anchor.seq, reason: 'sequence_gap' };
    // History up to the anchor was rewritten, even if every later hash was recomputed.
    if (stored !== anchor.hash) return { intact: false, brokenSeq: anchor.seq, reason: 'checkpoint_mismatch' };
  }
  return { intact: true, anchor, head, latestCheckpoint, highestCheckpointSeq: highestSeq };
}

/**
 * The other half: every event after the anchor up to `headSeq`, in batches, hashed and linked
 * as docs/audit-chain.md says. Returns the last event verified (the anchor when there is none).
 */
export async function walkChainFrom(
  db: Queryable,
  anchor: ChainAnchor,
  headSeq: number,
): Promise<{ intact: true; head: { seq: number; hash: string } } | ChainBreakFound> {
  const verifier = new ChainVerifier({ firstSeq: anchor.seq + 1, prevHash: anchor.hash });
  let afterSeq = anchor.seq;
  while (afterSeq < headSeq) {
    const batch = await listAuditEventsAscending(db, afterSeq, BATCH);
    for (const event of batch) {
      // Events appended since the head was read are for the next checkpoint.
      if (event.seq > headSeq) break;
      if (!verifier.push(event)) return { intact: false, brokenSeq: verifier.broken!.seq, reason: verifier.broken!.reason };
    }
    if (batch.length === 0) break;
    afterSeq = batch[batch.length - 1]!.seq;
  }
  // Rows missing at the end (the head read earlier is gone) are a gap like any other.
  if ((verifier.headSeq ?? anchor.seq) < headSeq) return { intact: false, brokenSeq: (verifier.headSeq ?? anchor.seq) + 1, reason: 'sequence_gap' };
  return { intact: true, head: { seq: verifier.headSeq ?? anchor.seq, hash: verifier.headHash ?? anchor.hash } };
}

/**
 * Records a break: the alarm row, and `audit.chain_break_detected` (critical) once per break.
 * Must run in the checkpoint transaction. If another alarm is open already it is that one.
 */
export async function raiseChainAlarm(
  db: Queryable,
  found: ChainBreakFound,
  head: { seq: number; hash: string } | null,
): Promise<{ alarm: ChainAlarm; raised: boolean }> {
  const alarm = await insertChainAlarm(db, {
    detectedAt: new Date().toISOString(),
    brokenSeq: found.brokenSeq,
    reason: found.reason,
    headSeq: head?.seq ?? null,
    headHash: head?.hash ?? null,
  });
  if (!alarm) return { alarm: (await getOpenChainAlarm(db))!, raised: false };
  await recordAuditEvent(db, SYSTEM_CONTEXT, {
    action: 'audit.chain_break_detected',
    outcome: 'failure',
    target: { type: 'audit_chain_alarm', id: String(alarm.id) },
    details: { alarmId: alarm.id, brokenSeq: alarm.brokenSeq, reason: alarm.reason, headSeq: alarm.headSeq, headHash: alarm.headHash },
  });
  return { alarm, raised: true };
}

// Metrics --------------------------------------------------------------------------------

let intactSource: (() => Promise<boolean>) | null = null;

/** 1 while no alarm waits for an acknowledgement, 0 while one does; read from Postgres at scrape time, so every node agrees. */
export const auditChainIntact = new Gauge({
  name: 'argus_audit_chain_intact',
  help: 'Whether the audit chain is intact as far as the checkpoint timer knows: 1, or 0 while a detected break waits for an auditor to acknowledge it (no checkpoints are signed meanwhile).',
  registers: [registry],
  async collect() {
    if (intactSource) this.set(await intactSource().then((intact) => (intact ? 1 : 0), () => Number.NaN));
  },
});

/**
 * Where the gauge reads from: the node's pool (the alarm table is shared by all nodes).
 * Returns the release, which leaves a source set since in place.
 */
export function setChainIntactSource(pool: Pool): () => void {
  const source = async () => (await getOpenChainAlarm(pool)) === null;
  intactSource = source;
  return () => {
    if (intactSource === source) intactSource = null;
  };
}
