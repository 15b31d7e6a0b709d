import type { AuditEventView, Outcome, Severity } from '../../shared/audit.ts';
import { query, type Queryable } from './pool.ts';

/** The NOTIFY channel that announces each committed audit event's seq. */
export const AUDIT_CHANNEL = 'argus_audit';

/** Any constant; every writer takes this transaction-scoped lock so the chain cannot fork. */
const AUDIT_CHAIN_LOCK_KEY = 0x4155_4449; // "AUDI"

interface AuditRow {
  seq: string;
  time: Date;
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

const COLUMNS = `seq, time, actor_id, actor_username, action, target_type, target_id, outcome,
  severity, ip, user_agent, model, details, prev_hash, hash`;

function toView(row: AuditRow): AuditEventView {
  return {
    seq: Number(row.seq),
    time: row.time.toISOString(),
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

/** Must run inside a transaction; held until it commits or rolls back. */
export async function lockAuditChain(db: Queryable): Promise<void> {
  await query(db, 'audit_lock', 'SELECT pg_advisory_xact_lock($1::bigint)', [AUDIT_CHAIN_LOCK_KEY]);
}

export async function getAuditChainHead(db: Queryable): Promise<{ seq: number; hash: string } | null> {
  const { rows } = await query<{ seq: string; hash: string }>(
    db,
    'audit_head',
    'SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1',
  );
  return rows[0] ? { seq: Number(rows[0].seq), hash: rows[0].hash } : null;
}

export async function insertAuditEvent(db: Queryable, event: AuditEventView): Promise<void> {
  await query(
    db,
    'audit_insert',
    // NOTIFY is transactional: listeners hear of the event only if it commits.
    `WITH inserted AS (
       INSERT INTO audit_event (${COLUMNS})
       VALUES ($1::bigint, $2::timestamptz, $3::uuid, $4::text, $5::text, $6::text, $7::text, $8::text,
               $9::text, $10::text, $11::text, $12::text, $13::jsonb, $14::text, $15::text)
       RETURNING seq
     )
     SELECT pg_notify('${AUDIT_CHANNEL}', seq::text) FROM inserted`,
    [
      event.seq,
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
      event.prevHash,
      event.hash,
    ],
  );
}

export interface AuditFilter {
  action?: string | undefined;
  actorId?: string | undefined;
  /** Only events with seq below this (keyset pagination, newest first). */
  beforeSeq?: number | undefined;
  limit: number;
}

export async function listAuditEvents(db: Queryable, filter: AuditFilter): Promise<AuditEventView[]> {
  const { rows } = await query<AuditRow>(
    db,
    'audit_list',
    `SELECT ${COLUMNS} FROM audit_event
     WHERE ($1::text IS NULL OR action = $1::text)
       AND ($2::uuid IS NULL OR actor_id = $2::uuid)
       AND ($3::bigint IS NULL OR seq < $3::bigint)
     ORDER BY seq DESC
     LIMIT $4::int`,
    [filter.action ?? null, filter.actorId ?? null, filter.beforeSeq ?? null, filter.limit],
  );
  return rows.map(toView);
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

export async function getAuditEvent(db: Queryable, seq: number): Promise<AuditEventView | null> {
  const { rows } = await query<AuditRow>(db, 'audit_by_seq', `SELECT ${COLUMNS} FROM audit_event WHERE seq = $1::bigint`, [seq]);
  return rows[0] ? toView(rows[0]) : null;
}
