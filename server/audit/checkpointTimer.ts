import type { AuditCheckpoint, ChainAlarm } from '../../shared/audit.ts';
import { getAuditChainHead, insertCheckpoint, tryLockCheckpoints } from '../db/audit.ts';
import { getLatestChainAlarm } from '../db/auditIntegrity.ts';
import { withTransaction, type Pool } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import { signCheckpoint } from './checkpoint.ts';
import { CheckpointMemory, checkChainAnchor, raiseChainAlarm, setChainIntactSource, walkChainFrom } from './chainMonitor.ts';
import type { AuditSigner } from './signingKey.ts';

export type CheckpointAttempt =
  | { outcome: 'signed'; checkpoint: AuditCheckpoint }
  /** locked: another node is at it; empty: no events; unchanged: nothing new since the last signed point; recent: another node signed less than an interval ago. */
  | { outcome: 'skipped'; why: 'locked' | 'empty' | 'unchanged' | 'recent' }
  /** A break waits for an auditor (`raised`: this attempt found it): nothing is signed. */
  | { outcome: 'refused'; alarm: ChainAlarm; raised: boolean };

/**
 * Verifies the chain since the last signed point, then signs its head and stores the
 * checkpoint (docs/audit-chain.md, "Verify before signing and break alarms"). It signs
 * nothing while a break waits for an acknowledgement, and raises one when it finds a break.
 * It skips when another node holds the checkpoint lock, nothing was appended since the last
 * signed point, or another node signed less than `minIntervalMs` ago. `memory` is the node's
 * (the highest checkpoint it signed or saw); a fresh one remembers nothing.
 */
export async function attemptCheckpoint({
  pool,
  signer,
  minIntervalMs = 0,
  memory = new CheckpointMemory(),
}: {
  pool: Pool;
  signer: AuditSigner;
  minIntervalMs?: number;
  memory?: CheckpointMemory;
}): Promise<CheckpointAttempt> {
  // What to remember once the transaction has committed (it may run more than once).
  const seen: { value: { acknowledgementId: number | null; checkpointSeq: number } | null } = { value: null };
  const attempt = await withTransaction(pool, async (client): Promise<CheckpointAttempt> => {
    seen.value = null;
    if (!(await tryLockCheckpoints(client))) return { outcome: 'skipped', why: 'locked' };
    const latestAlarm = await getLatestChainAlarm(client);
    // Every node reads the one table: none signs while a break waits for an auditor.
    if (latestAlarm && !latestAlarm.acknowledgement) return { outcome: 'refused', alarm: latestAlarm, raised: false };
    const acknowledgementId = latestAlarm?.id ?? null;
    const anchored = await checkChainAnchor(client, { acknowledged: latestAlarm, trusted: signer.trustedPublicKeys, floor: memory.floor(acknowledgementId) });
    if (!anchored.intact) return { outcome: 'refused', ...(await raiseChainAlarm(client, anchored, await getAuditChainHead(client))) };
    const { anchor, head, latestCheckpoint, highestCheckpointSeq } = anchored;
    seen.value = { acknowledgementId, checkpointSeq: highestCheckpointSeq };
    if (!head) return { outcome: 'skipped', why: 'empty' };
    if (head.seq === anchor.seq) return { outcome: 'skipped', why: 'unchanged' };
    if (latestCheckpoint && Date.now() - Date.parse(latestCheckpoint.time) < minIntervalMs) return { outcome: 'skipped', why: 'recent' };
    const walked = await walkChainFrom(client, anchor, head.seq);
    if (!walked.intact) {
      seen.value = null;
      return { outcome: 'refused', ...(await raiseChainAlarm(client, walked, head)) };
    }
    // Only what was just verified is signed: never a head read but not walked.
    const checkpoint = signCheckpoint(signer, walked.head);
    await insertCheckpoint(client, checkpoint);
    seen.value = { acknowledgementId, checkpointSeq: Math.max(highestCheckpointSeq, checkpoint.seq) };
    return { outcome: 'signed', checkpoint };
  });
  if (seen.value) memory.remember(seen.value.acknowledgementId, seen.value.checkpointSeq);
  return attempt;
}

/** attemptCheckpoint, answering only the checkpoint it signed (null when it skipped or refused). */
export async function checkpointChainHead(options: Parameters<typeof attemptCheckpoint>[0]): Promise<AuditCheckpoint | null> {
  const attempt = await attemptCheckpoint(options);
  return attempt.outcome === 'signed' ? attempt.checkpoint : null;
}

export interface CheckpointTimer {
  /** One attempt now, as the timer makes them (tests pass `minIntervalMs: 0` to sign at once). */
  tick(options?: { minIntervalMs?: number }): Promise<CheckpointAttempt>;
  stop(): void;
}

/** Every `seconds`, one node (whichever takes the lock) verifies the chain and signs its head. */
export function startCheckpointTimer({ pool, signer, seconds, log }: { pool: Pool; signer: AuditSigner; seconds: number; log: Logger }): CheckpointTimer {
  const memory = new CheckpointMemory();
  // Nodes started together tick together; the interval check makes the later ones skip.
  const intervalMs = seconds * 500;
  const releaseGauge = setChainIntactSource(pool);
  const tick = async ({ minIntervalMs = intervalMs }: { minIntervalMs?: number } = {}) => {
    const attempt = await attemptCheckpoint({ pool, signer, minIntervalMs, memory });
    if (attempt.outcome === 'signed') log.info({ seq: attempt.checkpoint.seq }, 'audit checkpoint signed');
    if (attempt.outcome === 'refused') {
      const { id, brokenSeq, reason, headSeq, detectedAt } = attempt.alarm;
      if (attempt.raised) log.error({ alarmId: id, brokenSeq, reason, headSeq }, 'audit chain broken: no checkpoint is signed until an auditor acknowledges the break');
      else log.warn({ alarmId: id, brokenSeq, reason, detectedAt }, 'audit checkpoint refused: a chain break waits for an auditor to acknowledge it');
    }
    return attempt;
  };
  const timer = setInterval(() => {
    tick().catch((error: unknown) => log.warn({ err: (error as Error).message }, 'audit checkpoint failed'));
  }, seconds * 1000);
  timer.unref();
  return {
    tick,
    stop: () => {
      clearInterval(timer);
      releaseGauge();
    },
  };
}
