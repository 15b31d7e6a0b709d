import type { AuditCheckpoint } from '../../shared/audit.ts';
import { getAuditChainHead, getLatestCheckpoint, insertCheckpoint, tryLockCheckpoints } from '../db/audit.ts';
import { withTransaction, type Pool } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import { signCheckpoint } from './checkpoint.ts';
import type { AuditSigner } from './signingKey.ts';

/**
 * Signs the current chain head and stores it, unless another node holds the checkpoint
 * lock, the head has not moved since the last checkpoint, or another node wrote one less
 * than `minIntervalMs` ago. Returns the new checkpoint, or null when it skipped.
 */
export async function checkpointChainHead({ pool, signer, minIntervalMs = 0 }: { pool: Pool; signer: AuditSigner; minIntervalMs?: number }): Promise<AuditCheckpoint | null> {
  return withTransaction(pool, async (client) => {
    if (!(await tryLockCheckpoints(client))) return null;
    const head = await getAuditChainHead(client);
    if (!head) return null;
    const latest = await getLatestCheckpoint(client);
    if (latest && latest.seq === head.seq) return null;
    if (latest && Date.now() - Date.parse(latest.time) < minIntervalMs) return null;
    const checkpoint = signCheckpoint(signer, head);
    await insertCheckpoint(client, checkpoint);
    return checkpoint;
  });
}

/** Every `seconds`, one node (whichever takes the lock) signs the chain head. */
export function startCheckpointTimer({ pool, signer, seconds, log }: { pool: Pool; signer: AuditSigner; seconds: number; log: Logger }): () => void {
  // Nodes started together tick together; the interval check makes the later ones skip.
  const minIntervalMs = seconds * 500;
  const timer = setInterval(() => {
    checkpointChainHead({ pool, signer, minIntervalMs }).then(
      (checkpoint) => checkpoint && log.info({ seq: checkpoint.seq }, 'audit checkpoint signed'),
      (error: unknown) => log.warn({ err: (error as Error).message }, 'audit checkpoint failed'),
    );
  }, seconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
