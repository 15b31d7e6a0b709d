/** The whole chain in the database, oldest first, in batches: memory stays flat in the number of events. */
import type { AuditEventView } from '../../../shared/audit.ts';
import { listAuditEventsAscending } from '../../db/audit.ts';
import type { Queryable } from '../../db/pool.ts';

const BATCH = 2_000;

export async function* databaseEvents(db: Queryable): AsyncGenerator<AuditEventView> {
  for (let afterSeq = 0; ; ) {
    const batch = await listAuditEventsAscending(db, afterSeq, BATCH);
    yield* batch;
    if (batch.length < BATCH) return;
    afterSeq = batch[batch.length - 1]!.seq;
  }
}
