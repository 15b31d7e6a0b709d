import type { ChainVerification } from '../../shared/audit.ts';
import { listAuditEventsAscending } from '../db/audit.ts';
import type { Queryable } from '../db/pool.ts';
import { ChainVerifier } from './chain.ts';

const BATCH = 2_000;

/** Walks the whole chain from the genesis event in batches; memory stays flat. */
export async function verifyAuditChain(db: Queryable): Promise<ChainVerification> {
  const verifier = new ChainVerifier();
  let afterSeq = 0;
  for (;;) {
    const batch = await listAuditEventsAscending(db, afterSeq, BATCH);
    for (const event of batch) {
      if (!verifier.push(event)) {
        const broken = verifier.broken!;
        return { intact: false, checked: verifier.checked, brokenAt: broken.seq, reason: broken.reason };
      }
    }
    if (batch.length < BATCH) break;
    afterSeq = batch[batch.length - 1]!.seq;
  }
  return { intact: true, checked: verifier.checked, headSeq: verifier.headSeq, headHash: verifier.headHash };
}
