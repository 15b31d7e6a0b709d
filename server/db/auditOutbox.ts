import { query, type Queryable } from './pool.ts';

/**
 * Marks a queued audit record as appended. Called in the transaction that appends it: true
 * the first time, false if that record was appended before (the unique id makes a record
 * drained twice appear in the chain once).
 */
export async function markOutboxRecordApplied(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await query(
    db,
    'audit_outbox_mark_applied',
    'INSERT INTO audit_outbox_applied (id) VALUES ($1::uuid) ON CONFLICT (id) DO NOTHING',
    [id],
  );
  return rowCount === 1;
}

/** Forgets applied ids older than `days`: a queued record never waits that long. */
export async function pruneAppliedOutboxRecords(db: Queryable, days: number): Promise<number> {
  const { rowCount } = await query(
    db,
    'audit_outbox_prune',
    `DELETE FROM audit_outbox_applied WHERE applied_at < now() - make_interval(days => $1::int)`,
    [days],
  );
  return rowCount ?? 0;
}
