/** Seeds many valid chained events quickly (benchmarks and large-range tests). */
import type { AuditEventView } from '../../../shared/audit.ts';
import { getAuditChainHead, insertChainedEventsForSeeding } from '../../db/audit.ts';
import type { Pool } from '../../db/pool.ts';
import { eventHash, GENESIS_HASH } from '../chain.ts';

const ACTIONS = ['auth.signin', 'auth.signin_failed', 'model.access', 'grant.issued', 'key.registered', 'user.disabled'] as const;
const BATCH = 5_000;

/**
 * Continues the chain from its head with `count` synthetic events, hashed here, inserted in
 * batches. Writes audit_event directly (insertChainedEventsForSeeding): `ownerPool` must connect
 * as the owner (`useTestDatabase().ownerPool`, `node.ownerPool()`), never as the server's role.
 */
export async function seedChain(ownerPool: Pool, count: number): Promise<{ headSeq: number }> {
  const head = await getAuditChainHead(ownerPool);
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  const start = Date.now() - count;
  for (let done = 0; done < count; ) {
    const batch: AuditEventView[] = [];
    for (let i = 0; i < BATCH && done < count; i += 1, done += 1) {
      seq += 1;
      const action = ACTIONS[seq % ACTIONS.length]!;
      const event = {
        seq,
        time: new Date(start + done).toISOString(),
        actorId: '00000000-0000-4000-8000-000000000001',
        actorUsername: `user${seq % 500}`,
        action,
        targetType: 'user',
        targetId: `00000000-0000-4000-8000-${String(seq % 1000).padStart(12, '0')}`,
        outcome: action === 'auth.signin_failed' ? ('failure' as const) : ('success' as const),
        severity: action === 'user.disabled' ? ('high' as const) : ('info' as const),
        ip: `10.0.${(seq >> 8) % 256}.${seq % 256}`,
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36',
        model: action === 'model.access' ? 'restricted-demo' : null,
        details: { n: seq, note: 'seeded, "synthetic"' },
      };
      const hash = eventHash(prevHash, event);
      batch.push({ ...event, prevHash, hash });
      prevHash = hash;
    }
    await insertChainedEventsForSeeding(ownerPool, batch);
  }
  return { headSeq: seq };
}
