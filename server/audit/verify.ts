import type { KeyObject } from 'node:crypto';
import type { AuditCheckpoint, ChainVerification } from '../../shared/audit.ts';
import { getLatestCheckpoint, listAuditEventsAscending, listCheckpointsAscending } from '../db/audit.ts';
import type { Queryable } from '../db/pool.ts';
import { ChainVerifier } from './chain.ts';
import { CheckpointWitness } from './checkpoint.ts';

const BATCH = 2_000;

async function allCheckpoints(db: Queryable): Promise<AuditCheckpoint[]> {
  const checkpoints: AuditCheckpoint[] = [];
  let afterId = 0;
  for (;;) {
    const batch = await listCheckpointsAscending(db, afterId, BATCH);
    checkpoints.push(...batch);
    if (batch.length < BATCH) return checkpoints;
    afterId = batch[batch.length - 1]!.id;
  }
}

/**
 * Walks the whole chain from the genesis event in batches (memory stays flat in the number
 * of events) and, given the trusted public key, holds it against every signed checkpoint:
 * a rewritten history or a cut-off tail is caught even if every hash was recomputed.
 */
export async function verifyAuditChain(db: Queryable, { publicKey }: { publicKey?: KeyObject | readonly KeyObject[] } = {}): Promise<ChainVerification> {
  const verifier = new ChainVerifier();
  const witness = publicKey ? new CheckpointWitness(await allCheckpoints(db), publicKey) : null;
  const checkpoints = async () => ({ checked: witness?.checked ?? 0, latest: publicKey ? await getLatestCheckpoint(db) : null });
  let afterSeq = 0;
  for (;;) {
    const batch = await listAuditEventsAscending(db, afterSeq, BATCH);
    for (const event of batch) {
      if (!verifier.push(event)) {
        const broken = verifier.broken!;
        const earlier = witness?.finish(null, { complete: false });
        const first = earlier && earlier.seq < broken.seq ? earlier : broken;
        return { intact: false, checked: verifier.checked, brokenAt: first.seq, reason: first.reason, checkpoints: await checkpoints() };
      }
      witness?.observe(event.seq, event.hash);
    }
    if (batch.length < BATCH) break;
    afterSeq = batch[batch.length - 1]!.seq;
  }
  const checkpointBreak = witness?.finish(verifier.headSeq);
  if (checkpointBreak) {
    return { intact: false, checked: verifier.checked, brokenAt: checkpointBreak.seq, reason: checkpointBreak.reason, checkpoints: await checkpoints() };
  }
  const result: ChainVerification = { intact: true, checked: verifier.checked, headSeq: verifier.headSeq, headHash: verifier.headHash };
  return publicKey ? { ...result, checkpoints: await checkpoints() } : result;
}

/**
 * `npm run argus -- verify-audit`: the chain and, given the node's public key, every signed
 * checkpoint, as the in-app check does (null: the chain alone). Prints the outcome; returns
 * the exit code (0 intact, 1 broken).
 */
export async function verifyAuditCommand(
  db: Queryable,
  publicKey: KeyObject | readonly KeyObject[] | null,
  out: { log(text: string): void; error(text: string): void } = console,
): Promise<number> {
  const result = await verifyAuditChain(db, publicKey ? { publicKey } : {});
  const checkpoints = result.checkpoints
    ? `; ${result.checkpoints.checked} signed checkpoint${result.checkpoints.checked === 1 ? '' : 's'} matched${result.checkpoints.latest ? `, latest at #${result.checkpoints.latest.seq}` : ''}`
    : '';
  if (result.intact) {
    out.log(`Audit chain intact: ${result.checked} events, head #${result.headSeq ?? '-'} ${result.headHash ?? ''}${checkpoints}`);
    return 0;
  }
  out.error(`Audit chain BROKEN at event #${result.brokenAt} (${result.reason}); ${result.checked} events verified before it${checkpoints}.`);
  return 1;
}
