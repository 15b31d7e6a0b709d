import { AUDIT_COUNT_LIMIT, type AuditCheckpoint, type AuditCount, type AuditEventView, type AuditSearch, type Outcome, type ResolvedAuditEvent, type Severity } from '../../shared/audit.ts';
import { pgErrorCode, query, withTransaction, type Pool, type Queryable } from './pool.ts';

/**
 * The NOTIFY channel that announces committed audit events (named again in sql/000011's
 * audit_append and sql/000025's audit_append_many): each payload is the seq range one
 * transaction appended, `seq` for one event or `first-last` for a group-committed batch.
 * Notifications arrive in commit order, which (the chain lock being held to commit) is seq order.
 */
export const AUDIT_CHANNEL = 'argus_audit';

/** The seq range an `argus_audit` payload announces; null for a payload that is not one. */
export function parseAuditNotification(payload: string): { firstSeq: number; lastSeq: number } | null {
  const match = /^([1-9][0-9]{0,15})(?:-([1-9][0-9]{0,15}))?$/.exec(payload);
  if (!match) return null;
  const firstSeq = Number(match[1]);
  const lastSeq = match[2] === undefined ? firstSeq : Number(match[2]);
  return lastSeq >= firstSeq ? { firstSeq, lastSeq } : null;
}

export interface AuditRow {
  seq: string;
  /** A Date, or already ISO 8601 text where a query formats it (cheaper for exports). */
  time: Date | string;
  actor_id: string | null;
  actor_username: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: Outcome;
  severity: Severity;
  ip: string | null;
  user_agent: string | null;
  model: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export const COLUMNS = `seq, time, actor_id, actor_username, action, target_type, target_id, outcome,
  severity, ip, user_agent, model, details, prev_hash, hash`;

export function toView(row: AuditRow): AuditEventView {
  return {
    seq: Number(row.seq),
    time: typeof row.time === 'string' ? row.time : row.time.toISOString(),
    actorId: row.actor_id,
    actorUsername: row.actor_username,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    outcome: row.outcome,
    severity: row.severity,
    ip: row.ip,
    userAgent: row.user_agent,
    model: row.model,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * Takes the chain lock (the same one `audit_append` takes) and reads the head in one round
 * trip. Two statements in one simple-protocol query: under READ COMMITTED the second takes
 * its snapshot after the first has the lock, so it sees every event committed before. Must
 * run inside a transaction.
 */
export async function lockAuditChainAndReadHead(db: Queryable): Promise<{ seq: number; hash: string } | null> {
  // No parameters: pg then sends a simple query, which may hold several statements.
  const results = (await query(
    db,
    'audit_lock_head',
    'SELECT audit_chain_lock(); SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1',
  )) as unknown as Array<{ rows: Array<{ seq: string; hash: string }> }>;
  const head = results[1]!.rows[0];
  return head ? { seq: Number(head.seq), hash: head.hash } : null;
}

export async function getAuditChainHead(db: Queryable): Promise<{ seq: number; hash: string } | null> {
  const { rows } = await query<{ seq: string; hash: string }>(
    db,
    'audit_head',
    'SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1',
  );
  return rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash } : null;
}

/** An event as the writer builds it: everything but the chain fields, which need the lock. */
export type UnchainedAuditEvent = Omit<AuditEventView, 'seq' | 'prevHash' | 'hash'>;

/**
 * Appends one event in one round trip (sql/000011): the function takes the chain lock, reads
 * the head, computes the hash from the canonical JSON around the seq, inserts and NOTIFYs.
 * On a transaction's client the event commits with that transaction; on the pool it commits
 * by itself, and the lock is held only while the server runs the statement and its commit.
 * Lock order (docs/locking.md): the chain lock is the last lock a transaction takes; after
 * its first event a transaction locks no other row and inserts no row that references a user.
 */
export async function appendAuditEvent(
  db: Queryable,
  event: UnchainedAuditEvent,
  canonical: { before: string; after: string },
): Promise<{ seq: number; prevHash: string; hash: string }> {
  const { rows } = await query<{ appended_seq: string; appended_prev_hash: string; appended_hash: string }>(
    db,
    'audit_append',
    `SELECT appended_seq, appended_prev_hash, appended_hash
       FROM audit_append($1::timestamptz, $2::uuid, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text,
                         $9::text, $10::text, $11::text, $12::jsonb, $13::bytea, $14::bytea)`,
    [
      event.time,
      event.actorId,
      event.actorUsername,
      event.action,
      event.targetType,
      event.targetId,
      event.outcome,
      event.severity,
      event.ip,
      event.userAgent,
      event.model,
      JSON.stringify(event.details),
      Buffer.from(canonical.before, 'utf8'),
      Buffer.from(canonical.after, 'utf8'),
    ],
    // Parsed and planned once per connection: about 15 % more appends per second.
    { prepare: true },
  );
  const row = rows[0]!;
  return { seq: Number(row.appended_seq), prevHash: row.appended_prev_hash, hash: row.appended_hash };
}

/**
 * An event's fields as one array per column, in the column order of audit_event (time … details),
 * for the statements that write a batch through unnest.
 */
function eventColumns(events: readonly UnchainedAuditEvent[]): unknown[][] {
  const column = <K extends keyof UnchainedAuditEvent>(key: K) => events.map((event) => event[key]);
  return [
    column('time'),
    column('actorId'),
    column('actorUsername'),
    column('action'),
    column('targetType'),
    column('targetId'),
    column('outcome'),
    column('severity'),
    column('ip'),
    column('userAgent'),
    column('model'),
    events.map((event) => JSON.stringify(event.details)),
  ];
}

/** An event ready to append: its fields and its canonical JSON around the seq. */
export interface AppendableAuditEvent {
  event: UnchainedAuditEvent;
  canonical: { before: string; after: string };
}

/**
 * Appends a batch of standalone events in one round trip and one commit (sql/000024, made
 * lighter by 000025: one notification for the whole batch), in
 * order, each hashed on the one before it exactly as audit_append would. `batchId` names the
 * batch: called again with the same id (its first call's connection failed), the function
 * returns what the first call appended instead of appending twice. Outside any transaction
 * (the pool, or a client with none open): the events commit by themselves.
 */
export async function appendAuditEvents(
  db: Queryable,
  batchId: string,
  events: readonly AppendableAuditEvent[],
): Promise<Array<{ seq: number; prevHash: string; hash: string }>> {
  const { rows } = await query<{ appended_seq: string; appended_prev_hash: string; appended_hash: string }>(
    db,
    'audit_append_many',
    `SELECT appended_seq, appended_prev_hash, appended_hash
       FROM audit_append_many($1::uuid, $2::timestamptz[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                              $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[], $14::bytea[], $15::bytea[])`,
    [
      batchId,
      ...eventColumns(events.map(({ event }) => event)),
      events.map(({ canonical }) => Buffer.from(canonical.before, 'utf8')),
      events.map(({ canonical }) => Buffer.from(canonical.after, 'utf8')),
    ],
    { prepare: true },
  );
  return rows
    .map((row) => ({ seq: Number(row.appended_seq), prevHash: row.appended_prev_hash, hash: row.appended_hash }))
    .sort((a, b) => a.seq - b.seq);
}

/**
 * Appends already-chained events in one statement. Only for seeding benchmarks and tests:
 * it takes no lock, so the caller must own the chain. It writes audit_event directly, which
 * the server's role may not (sql/000015): `db` must be a connection as the owner role (in
 * tests `useTestDatabase().ownerPool` or a node's `ownerPool()`); as the server's role it
 * fails with 42501 insufficient_privilege.
 */
export async function insertChainedEventsForSeeding(db: Queryable, events: AuditEventView[]): Promise<void> {
  await query(
    db,
    'audit_seed_batch',
    `INSERT INTO audit_event (${COLUMNS})
     SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                          $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[], $14::text[], $15::text[])`,
    [
      events.map((event) => event.seq),
      ...eventColumns(events),
      events.map((event) => event.prevHash),
      events.map((event) => event.hash),
    ],
  );
}

/** Events in chain order starting after `afterSeq`, for verification in batches. */
export async function listAuditEventsAscending(db: Queryable, afterSeq: number, limit: number): Promise<AuditEventView[]> {
  const { rows } = await query<AuditRow>(
    db,
    'audit_ascending',
    `SELECT ${COLUMNS} FROM audit_event WHERE seq > $1::bigint ORDER BY seq ASC LIMIT $2::int`,
    [afterSeq, limit],
  );
  return rows.map(toView);
}

/** A target id as a uuid where it is one (only then can it name a user, key or detector row). */
const TARGET_UUID = `CASE WHEN e.target_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN e.target_id::uuid END`;

/**
 * The target's name now, from its row, by primary key; for a target since deleted, the name
 * its event recorded (user.deleted keeps the username, key.deleted the nickname); else null.
 * Applied to the rows of a page `e` after its LIMIT, so it costs a few key lookups per row and
 * never changes which index the search uses.
 */
const TARGET_NAME = `COALESCE(
    CASE e.target_type
      WHEN 'user' THEN (SELECT u.username FROM app_user u WHERE u.id = ${TARGET_UUID})
      WHEN 'security_key' THEN (SELECT k.nickname FROM security_key k WHERE k.id = ${TARGET_UUID})
      WHEN 'detector' THEN (SELECT d.name FROM detector d WHERE d.id = ${TARGET_UUID})
      WHEN 'model' THEN (SELECT m.display_name FROM model m WHERE m.id = e.target_id)
    END,
    CASE e.target_type
      WHEN 'user' THEN e.details->>'username'
      WHEN 'security_key' THEN COALESCE(e.details->>'nickname', CASE WHEN e.action = 'key.renamed' THEN e.details->>'after' END)
      WHEN 'detector' THEN e.details->>'name'
    END
  ) AS target_name`;

/** What a page of events selects: its columns and the target's name. */
const RESOLVED_COLUMNS = `e.*, ${TARGET_NAME}`;

const toResolvedView = (row: AuditRow & { target_name: string | null }): ResolvedAuditEvent => ({ ...toView(row), targetName: row.target_name });

/** One event with its target's name (the API's view). */
export async function getAuditEvent(db: Queryable, seq: number): Promise<ResolvedAuditEvent | null> {
  const { rows } = await query<AuditRow & { target_name: string | null }>(
    db,
    'audit_by_seq',
    `SELECT ${RESOLVED_COLUMNS} FROM (SELECT ${COLUMNS} FROM audit_event WHERE seq = $1::bigint) e`,
    [seq],
  );
  return rows[0] ? toResolvedView(rows[0]) : null;
}

/**
 * Events after `afterSeq` up to `throughSeq`, in chain order, at most `limit`, with their
 * targets' names (the live feed reads the ranges its notifications announce).
 */
export async function listResolvedAuditEventsAfter(
  db: Queryable,
  { afterSeq, throughSeq, limit }: { afterSeq: number; throughSeq: number; limit: number },
): Promise<ResolvedAuditEvent[]> {
  const { rows } = await query<AuditRow & { target_name: string | null }>(
    db,
    'audit_resolved_range',
    `SELECT ${RESOLVED_COLUMNS}
     FROM (SELECT ${COLUMNS} FROM audit_event WHERE seq > $1::bigint AND seq <= $2::bigint ORDER BY seq LIMIT $3::int) e
     ORDER BY e.seq`,
    [afterSeq, throughSeq, limit],
  );
  return rows.map(toResolvedView);
}

/** A search as SQL: only the predicates a filter uses, so each can use its index. */
export interface AuditWhere extends AuditSearch {
  /** Inclusive seq bounds (exports resolve their range to these). */
  fromSeq?: number | null | undefined;
  toSeq?: number | null | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function whereClause(filter: AuditWhere, values: unknown[]): string[] {
  const clauses: string[] = [];
  const param = (value: unknown, cast: string) => {
    values.push(value);
    return `$${values.length}::${cast}`;
  };
  if (filter.from) clauses.push(`time >= ${param(filter.from, 'timestamptz')}`);
  if (filter.to) clauses.push(`time < ${param(filter.to, 'timestamptz')}`);
  if (filter.actor) {
    clauses.push(
      UUID.test(filter.actor) ? `actor_id = ${param(filter.actor, 'uuid')}` : `lower(actor_username) = lower(${param(filter.actor, 'text')})`,
    );
  }
  if (filter.action) clauses.push(`action = ${param(filter.action, 'text')}`);
  if (filter.target) clauses.push(`target_id = ${param(filter.target, 'text')}`);
  if (filter.outcome) clauses.push(`outcome = ${param(filter.outcome, 'text')}`);
  if (filter.severity) clauses.push(`severity = ${param(filter.severity, 'text')}`);
  if (filter.model) clauses.push(`model = ${param(filter.model, 'text')}`);
  if (filter.fromSeq !== null && filter.fromSeq !== undefined) clauses.push(`seq >= ${param(filter.fromSeq, 'bigint')}`);
  if (filter.toSeq !== null && filter.toSeq !== undefined) clauses.push(`seq <= ${param(filter.toSeq, 'bigint')}`);
  return clauses;
}

/**
 * One page of a search, newest first, older than the keyset cursor `beforeSeq`, with each
 * target's name. The page is picked first (the keyset query on its own, as before), then named.
 */
export async function searchAuditEvents(
  db: Queryable,
  filter: AuditWhere,
  { beforeSeq, limit }: { beforeSeq?: number | undefined; limit: number },
): Promise<ResolvedAuditEvent[]> {
  const values: unknown[] = [];
  const clauses = whereClause(filter, values);
  if (beforeSeq !== undefined) {
    values.push(beforeSeq);
    clauses.push(`seq < $${values.length}::bigint`);
  }
  values.push(limit);
  const { rows } = await query<AuditRow & { target_name: string | null }>(
    db,
    'audit_search',
    `SELECT ${RESOLVED_COLUMNS}
     FROM (SELECT ${COLUMNS} FROM audit_event
           ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}
           ORDER BY seq DESC
           LIMIT $${values.length}::int) e
     ORDER BY e.seq DESC`,
    values,
  );
  return rows.map(toResolvedView);
}

/** 57014 query_canceled: here, the count's statement_timeout ran out. */
const PG_QUERY_CANCELED = '57014';

/**
 * How many events a search matches, counted up to AUDIT_COUNT_LIMIT (one more row tells
 * that there are more) and for at most `budgetMs`: an exact count of a large log is a scan of
 * millions of rows, on every page view. Null when the budget ran out first.
 */
export async function countAuditEventsUpTo(pool: Pool, filter: AuditWhere, { budgetMs }: { budgetMs: number }): Promise<AuditCount | null> {
  const values: unknown[] = [];
  const clauses = whereClause(filter, values);
  values.push(AUDIT_COUNT_LIMIT + 1);
  try {
    return await withTransaction(pool, async (client) => {
      // SET takes no parameters; budgetMs is a number the server chose, never input.
      await query(client, 'audit_count_budget', `SET LOCAL statement_timeout = ${Math.max(1, Math.round(budgetMs))}`);
      const { rows } = await query<{ count: number }>(
        client,
        'audit_count_bounded',
        `SELECT count(*)::int AS count FROM (
           SELECT 1 FROM audit_event ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} LIMIT $${values.length}::int
         ) matched`,
        values,
      );
      const count = rows[0]!.count;
      return count > AUDIT_COUNT_LIMIT ? { count: AUDIT_COUNT_LIMIT, more: true } : { count, more: false };
    });
  } catch (error) {
    if (pgErrorCode(error) === PG_QUERY_CANCELED) return null;
    throw error;
  }
}

/** COLUMNS with the time as ISO 8601 UTC text with milliseconds (what the chain hashes), formatted by Postgres. */
const COLUMNS_TIME_TEXT = COLUMNS.replace(/^seq, time,/, `seq, to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS time,`);

/** The next batch of a search in chain order, after `afterSeq` (exports read in these). */
export async function searchAuditEventsAscending(db: Queryable, filter: AuditWhere, afterSeq: number, limit: number): Promise<AuditEventView[]> {
  const values: unknown[] = [afterSeq];
  const clauses = ['seq > $1::bigint', ...whereClause(filter, values)];
  values.push(limit);
  const { rows } = await query<AuditRow>(
    db,
    'audit_search_ascending',
    `SELECT ${COLUMNS_TIME_TEXT} FROM audit_event WHERE ${clauses.join(' AND ')} ORDER BY seq ASC LIMIT $${values.length}::int`,
    values,
  );
  return rows.map(toView);
}

export async function countAuditEvents(db: Queryable, filter: AuditWhere): Promise<number> {
  const values: unknown[] = [];
  const clauses = whereClause(filter, values);
  const { rows } = await query<{ count: string }>(
    db,
    'audit_count',
    `SELECT count(*) AS count FROM audit_event ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''}`,
    values,
  );
  return Number(rows[0]!.count);
}

/**
 * The seq range a time range covers: from the first event at or after `from` to the last
 * event before `to`, never past `headSeq`. Null bounds when nothing lies in the range.
 */
export async function seqRangeOf(
  db: Queryable,
  { from, to, headSeq }: { from?: string | undefined; to?: string | undefined; headSeq: number },
): Promise<{ fromSeq: number; toSeq: number } | null> {
  const { rows } = await query<{ from_seq: string | null; to_seq: string | null }>(
    db,
    'audit_seq_range',
    // Without a time bound the range runs from the first event to the head, whatever the rows' times say.
    `SELECT
       CASE WHEN $1::timestamptz IS NULL THEN (SELECT min(seq) FROM audit_event)
            ELSE (SELECT seq FROM audit_event WHERE time >= $1::timestamptz AND seq <= $3::bigint ORDER BY time, seq LIMIT 1)
       END AS from_seq,
       CASE WHEN $2::timestamptz IS NULL THEN $3::bigint
            ELSE (SELECT seq FROM audit_event WHERE time < $2::timestamptz AND seq <= $3::bigint ORDER BY time DESC, seq DESC LIMIT 1)
       END AS to_seq`,
    [from ?? null, to ?? null, headSeq],
  );
  const row = rows[0]!;
  if (row.from_seq === null || row.to_seq === null || Number(row.from_seq) > Number(row.to_seq)) return null;
  return { fromSeq: Number(row.from_seq), toSeq: Number(row.to_seq) };
}

// Checkpoints --------------------------------------------------------------------------

/** Only one node at a time signs a checkpoint; a second one finds the lock taken and skips. */
const AUDIT_CHECKPOINT_LOCK_KEY = 0x4155_4443; // "AUDC"

interface CheckpointRow {
  seq: string;
  hash: string;
  time: Date;
  key_fingerprint: string;
  signature: string;
}

const toCheckpoint = (row: CheckpointRow): AuditCheckpoint => ({
  seq: Number(row.seq),
  hash: row.hash,
  time: row.time.toISOString(),
  keyFingerprint: row.key_fingerprint,
  signature: row.signature,
});

/** Must run inside a transaction; false when another node holds the lock. */
export async function tryLockCheckpoints(db: Queryable): Promise<boolean> {
  const { rows } = await query<{ locked: boolean }>(db, 'audit_checkpoint_lock', 'SELECT pg_try_advisory_xact_lock($1::bigint) AS locked', [
    AUDIT_CHECKPOINT_LOCK_KEY,
  ]);
  return rows[0]!.locked;
}

/**
 * Stores a signed checkpoint through audit_checkpoint_append (sql/000015), the only way the
 * server's role can write audit_checkpoint. The function refuses a checkpoint whose seq and hash
 * are not those of an event in the chain (PG_AUDIT_CHECKPOINT_UNKNOWN_EVENT).
 */
export async function insertCheckpoint(db: Queryable, checkpoint: AuditCheckpoint): Promise<void> {
  await query(
    db,
    'audit_checkpoint_insert',
    'SELECT audit_checkpoint_append($1::bigint, $2::text, $3::timestamptz, $4::text, $5::text)',
    [checkpoint.seq, checkpoint.hash, checkpoint.time, checkpoint.keyFingerprint, checkpoint.signature],
  );
}

/** The newest checkpoint, optionally only among those at or below `maxSeq` and at or above `minSeq`. */
export async function getLatestCheckpoint(
  db: Queryable,
  { minSeq, maxSeq }: { minSeq?: number; maxSeq?: number } = {},
): Promise<AuditCheckpoint | null> {
  const { rows } = await query<CheckpointRow>(
    db,
    'audit_checkpoint_latest',
    `SELECT seq, hash, time, key_fingerprint, signature FROM audit_checkpoint
     WHERE ($1::bigint IS NULL OR seq >= $1::bigint) AND ($2::bigint IS NULL OR seq <= $2::bigint)
     ORDER BY seq DESC, id DESC LIMIT 1`,
    [minSeq ?? null, maxSeq ?? null],
  );
  return rows[0] ? toCheckpoint(rows[0]) : null;
}

/** Checkpoints in seq order after `afterSeq`, in batches. */
export async function listCheckpointsAscending(db: Queryable, afterId: number, limit: number): Promise<Array<AuditCheckpoint & { id: number }>> {
  const { rows } = await query<CheckpointRow & { id: string }>(
    db,
    'audit_checkpoint_list',
    `SELECT id, seq, hash, time, key_fingerprint, signature FROM audit_checkpoint
     WHERE id > $1::bigint ORDER BY id LIMIT $2::int`,
    [afterId, limit],
  );
  return rows.map((row) => ({ id: Number(row.id), ...toCheckpoint(row) }));
}
