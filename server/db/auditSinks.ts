/**
 * audit_sink_cursor (sql/000017): how far each SIEM sink has got in the audit chain. The
 * events and checkpoints themselves are read with server/db/audit.ts.
 */
import { query, withClient, type Pool, type PoolClient, type Queryable } from './pool.ts';

/** A sink's cursor, as the node that holds its row lock reads it. */
export interface LockedSinkCursor {
  deliveredSeq: number;
  deliveredCheckpointId: number;
  consecutiveFailures: number;
  /** > 0 while backing off after a failure: no node may try before then. */
  waitMs: number;
}

/** Creates the cursors of newly configured sinks (at the chain's start: a new sink receives the whole log). */
export async function ensureSinkCursors(db: Queryable, sinkIds: readonly string[]): Promise<void> {
  await query(
    db,
    'sink_cursor_ensure',
    `INSERT INTO audit_sink_cursor (sink_id) SELECT unnest($1::text[]) ON CONFLICT (sink_id) DO NOTHING`,
    [sinkIds],
  );
}

/**
 * Runs fn in one transaction that holds a sink's row lock while records cross the network.
 * Unlike withTransaction it never runs fn again (fn delivers records: that is not the
 * database's to repeat). If this node stalls mid-transaction, Postgres ends its session after
 * `idleLimitMs` without a statement, releasing the lock to the other nodes.
 */
export async function withSinkTransaction<T>(pool: Pool, idleLimitMs: number, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    // No parameters: one simple-protocol round trip for both statements. idleLimitMs is ours, never input.
    await query(client, 'sink_begin', `BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${Math.max(1_000, Math.round(idleLimitMs))}`);
    try {
      const result = await fn(client);
      await query(client, 'sink_commit', 'COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}

/**
 * Locks a sink's cursor for this transaction, or answers null when another node holds it (it
 * is delivering that sink: one node at a time, the others skip rather than wait) or the
 * sink has no cursor. Must run inside withSinkTransaction.
 */
export async function lockSinkCursor(client: PoolClient, sinkId: string): Promise<LockedSinkCursor | null> {
  const { rows } = await query<{ delivered_seq: string; delivered_checkpoint_id: string; consecutive_failures: number; wait_ms: number }>(
    client,
    'sink_cursor_lock',
    `SELECT delivered_seq, delivered_checkpoint_id, consecutive_failures,
            CASE WHEN next_attempt_at > clock_timestamp()
                 THEN ceil(extract(epoch FROM next_attempt_at - clock_timestamp()) * 1000)::float8 ELSE 0 END AS wait_ms
       FROM audit_sink_cursor WHERE sink_id = $1::text
       FOR UPDATE SKIP LOCKED`,
    [sinkId],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    deliveredSeq: Number(row.delivered_seq),
    deliveredCheckpointId: Number(row.delivered_checkpoint_id),
    consecutiveFailures: row.consecutive_failures,
    waitMs: Number(row.wait_ms),
  };
}

/** The batch reached the sink: move the cursor past it and clear the failure count. */
export async function advanceSinkCursor(
  client: PoolClient,
  sinkId: string,
  { deliveredSeq, deliveredCheckpointId }: { deliveredSeq: number; deliveredCheckpointId: number },
): Promise<void> {
  await query(
    client,
    'sink_cursor_advance',
    `UPDATE audit_sink_cursor
        SET delivered_seq = $2::bigint, delivered_checkpoint_id = $3::bigint, delivered_at = now(), updated_at = now(),
            consecutive_failures = 0, next_attempt_at = NULL
      WHERE sink_id = $1::text`,
    [sinkId, deliveredSeq, deliveredCheckpointId],
  );
}

/** The batch did not reach the sink: keep the cursor, note why, and hold every node back for `retryInMs`. */
export async function recordSinkFailure(
  client: PoolClient,
  sinkId: string,
  { error, consecutiveFailures, retryInMs }: { error: string; consecutiveFailures: number; retryInMs: number },
): Promise<void> {
  await query(
    client,
    'sink_cursor_failure',
    `UPDATE audit_sink_cursor
        SET last_error = $2::text, last_error_at = now(), updated_at = now(), consecutive_failures = $3::int,
            next_attempt_at = clock_timestamp() + make_interval(secs => $4::float8 / 1000)
      WHERE sink_id = $1::text`,
    [sinkId, error.slice(0, 500), consecutiveFailures, retryInMs],
  );
}

/** Where a sink stands against the chain, for its status and lag metrics. */
export interface SinkProgressRow {
  sinkId: string;
  deliveredSeq: number;
  deliveredCheckpointId: number;
  deliveredAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  consecutiveFailures: number;
  nextAttemptAt: Date | null;
  /** The chain's newest event (0 when empty). */
  headSeq: number;
  /** Age in seconds of the oldest event not yet delivered, null when there is none. */
  oldestPendingEventAge: number | null;
  /** Age in seconds of the oldest checkpoint not yet delivered, and the newest one's seq; null when none is pending. */
  oldestPendingCheckpointAge: number | null;
  newestPendingCheckpointSeq: number | null;
}

/** Each sink's progress in one statement (a few index lookups per sink); sinks without a cursor yet read as at the start. */
export async function readSinkProgress(db: Queryable, sinkIds: readonly string[]): Promise<SinkProgressRow[]> {
  const { rows } = await query<{
    sink_id: string;
    delivered_seq: string;
    delivered_checkpoint_id: string;
    delivered_at: Date | null;
    last_error: string | null;
    last_error_at: Date | null;
    consecutive_failures: number;
    next_attempt_at: Date | null;
    head_seq: string;
    oldest_event_age: number | null;
    oldest_checkpoint_age: number | null;
    newest_checkpoint_seq: string | null;
  }>(
    db,
    'sink_progress',
    `SELECT s.sink_id,
            coalesce(c.delivered_seq, 0) AS delivered_seq,
            coalesce(c.delivered_checkpoint_id, 0) AS delivered_checkpoint_id,
            c.delivered_at, c.last_error, c.last_error_at,
            coalesce(c.consecutive_failures, 0) AS consecutive_failures,
            CASE WHEN c.next_attempt_at > now() THEN c.next_attempt_at END AS next_attempt_at,
            coalesce((SELECT e.seq FROM audit_event e ORDER BY e.seq DESC LIMIT 1), 0) AS head_seq,
            (SELECT GREATEST(0, extract(epoch FROM now() - e.time))::float8 FROM audit_event e
              WHERE e.seq > coalesce(c.delivered_seq, 0) ORDER BY e.seq LIMIT 1) AS oldest_event_age,
            (SELECT GREATEST(0, extract(epoch FROM now() - k.time))::float8 FROM audit_checkpoint k
              WHERE k.id > coalesce(c.delivered_checkpoint_id, 0) ORDER BY k.id LIMIT 1) AS oldest_checkpoint_age,
            (SELECT k.seq FROM audit_checkpoint k
              WHERE k.id > coalesce(c.delivered_checkpoint_id, 0) ORDER BY k.id DESC LIMIT 1) AS newest_checkpoint_seq
       FROM unnest($1::text[]) WITH ORDINALITY AS s(sink_id, position)
       LEFT JOIN audit_sink_cursor c ON c.sink_id = s.sink_id
      ORDER BY s.position`,
    [sinkIds],
  );
  return rows.map((row) => ({
    sinkId: row.sink_id,
    deliveredSeq: Number(row.delivered_seq),
    deliveredCheckpointId: Number(row.delivered_checkpoint_id),
    deliveredAt: row.delivered_at,
    lastError: row.last_error,
    lastErrorAt: row.last_error_at,
    consecutiveFailures: row.consecutive_failures,
    nextAttemptAt: row.next_attempt_at,
    headSeq: Number(row.head_seq),
    oldestPendingEventAge: row.oldest_event_age,
    oldestPendingCheckpointAge: row.oldest_checkpoint_age,
    newestPendingCheckpointSeq: row.newest_checkpoint_seq === null ? null : Number(row.newest_checkpoint_seq),
  }));
}
