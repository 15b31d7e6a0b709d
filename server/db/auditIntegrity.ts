import type { AuditCheckpoint, BreakAcknowledgement, ChainAlarm, ChainAlarmReason } from '../../shared/audit.ts';
import { query, type Queryable } from './pool.ts';

/**
 * What the checkpoint timer reads and writes to verify the chain before it signs: the hash
 * of one event, and the chain alarms (sql/000016) that stop signing until acknowledged.
 */

/** The stored hash of event `seq`, or null when there is no such event. */
export async function getAuditEventHash(db: Queryable, seq: number): Promise<string | null> {
  const { rows } = await query<{ hash: string }>(db, 'audit_event_hash', 'SELECT hash FROM audit_event WHERE seq = $1::bigint', [seq]);
  return rows[0]?.hash ?? null;
}

/**
 * The checkpoint signed last (by insertion order, which is signing order), and the highest seq
 * any checkpoint row has: they differ only after a break cut the chain below a checkpoint.
 */
export async function getNewestCheckpoint(db: Queryable): Promise<{ checkpoint: AuditCheckpoint | null; highestSeq: number }> {
  const { rows } = await query<{ seq: string; hash: string; time: Date; key_fingerprint: string; signature: string; highest_seq: string | null }>(
    db,
    'audit_checkpoint_newest',
    `SELECT c.seq, c.hash, c.time, c.key_fingerprint, c.signature, (SELECT max(seq) FROM audit_checkpoint) AS highest_seq
       FROM audit_checkpoint c ORDER BY c.id DESC LIMIT 1`,
  );
  const row = rows[0];
  if (!row) return { checkpoint: null, highestSeq: 0 };
  return {
    checkpoint: { seq: Number(row.seq), hash: row.hash, time: row.time.toISOString(), keyFingerprint: row.key_fingerprint, signature: row.signature },
    highestSeq: Number(row.highest_seq),
  };
}

interface AlarmRow {
  id: string;
  detected_at: Date;
  broken_seq: string;
  reason: ChainAlarmReason;
  head_seq: string | null;
  head_hash: string | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  acknowledged_by_username: string | null;
  statement: string | null;
  ack_key_fingerprint: string | null;
  ack_signature: string | null;
}

const ALARM_COLUMNS = `id, detected_at, broken_seq, reason, head_seq, head_hash, acknowledged_at, acknowledged_by,
  acknowledged_by_username, statement, ack_key_fingerprint, ack_signature`;

function toAlarm(row: AlarmRow): ChainAlarm {
  return {
    id: Number(row.id),
    detectedAt: row.detected_at.toISOString(),
    brokenSeq: Number(row.broken_seq),
    reason: row.reason,
    headSeq: row.head_seq === null ? null : Number(row.head_seq),
    headHash: row.head_hash,
    // The table's CHECK keeps an acknowledgement whole or absent.
    acknowledgement:
      row.acknowledged_at === null
        ? null
        : {
            acknowledgedAt: row.acknowledged_at.toISOString(),
            acknowledgedBy: { id: row.acknowledged_by!, username: row.acknowledged_by_username! },
            statement: row.statement!,
            keyFingerprint: row.ack_key_fingerprint!,
            signature: row.ack_signature!,
          },
  };
}

export interface NewChainAlarm {
  detectedAt: string;
  brokenSeq: number;
  reason: ChainAlarmReason;
  headSeq: number | null;
  headHash: string | null;
}

/**
 * Raises an alarm; null when one is already waiting for its acknowledgement (a unique index
 * allows one open alarm), so a break found twice is raised once.
 */
export async function insertChainAlarm(db: Queryable, alarm: NewChainAlarm): Promise<ChainAlarm | null> {
  const { rows } = await query<AlarmRow>(
    db,
    'audit_chain_alarm_insert',
    `INSERT INTO audit_chain_alarm (detected_at, broken_seq, reason, head_seq, head_hash)
     VALUES ($1::timestamptz, $2::bigint, $3::text, $4::bigint, $5::text)
     ON CONFLICT DO NOTHING
     RETURNING ${ALARM_COLUMNS}`,
    [alarm.detectedAt, alarm.brokenSeq, alarm.reason, alarm.headSeq, alarm.headHash],
  );
  return rows[0] ? toAlarm(rows[0]) : null;
}

/** The newest alarm, acknowledged or not: it says whether signing may go on, and from where. */
export async function getLatestChainAlarm(db: Queryable): Promise<ChainAlarm | null> {
  const { rows } = await query<AlarmRow>(db, 'audit_chain_alarm_latest', `SELECT ${ALARM_COLUMNS} FROM audit_chain_alarm ORDER BY id DESC LIMIT 1`);
  return rows[0] ? toAlarm(rows[0]) : null;
}

/** The alarm waiting for an acknowledgement, if any (at most one). */
export async function getOpenChainAlarm(db: Queryable): Promise<ChainAlarm | null> {
  const { rows } = await query<AlarmRow>(
    db,
    'audit_chain_alarm_open',
    `SELECT ${ALARM_COLUMNS} FROM audit_chain_alarm WHERE acknowledged_at IS NULL ORDER BY id DESC LIMIT 1`,
  );
  return rows[0] ? toAlarm(rows[0]) : null;
}

/** The newest alarms, newest first. */
export async function listChainAlarms(db: Queryable, limit: number): Promise<ChainAlarm[]> {
  const { rows } = await query<AlarmRow>(
    db,
    'audit_chain_alarm_list',
    `SELECT ${ALARM_COLUMNS} FROM audit_chain_alarm ORDER BY id DESC LIMIT $1::int`,
    [limit],
  );
  return rows.map(toAlarm);
}

/** One alarm, its row locked until the transaction ends (two auditors acknowledging at once take turns). */
export async function lockChainAlarm(db: Queryable, id: number): Promise<ChainAlarm | null> {
  const { rows } = await query<AlarmRow>(db, 'audit_chain_alarm_lock', `SELECT ${ALARM_COLUMNS} FROM audit_chain_alarm WHERE id = $1::bigint FOR UPDATE`, [id]);
  return rows[0] ? toAlarm(rows[0]) : null;
}

/** Stores the signed acknowledgement on an open alarm; null when it was already acknowledged. */
export async function storeBreakAcknowledgement(db: Queryable, id: number, acknowledgement: BreakAcknowledgement): Promise<ChainAlarm | null> {
  const { rows } = await query<AlarmRow>(
    db,
    'audit_chain_alarm_acknowledge',
    `UPDATE audit_chain_alarm
        SET acknowledged_at = $2::timestamptz, acknowledged_by = $3::uuid, acknowledged_by_username = $4::text,
            statement = $5::text, ack_key_fingerprint = $6::text, ack_signature = $7::text
      WHERE id = $1::bigint AND acknowledged_at IS NULL
      RETURNING ${ALARM_COLUMNS}`,
    [
      id,
      acknowledgement.acknowledgedAt,
      acknowledgement.acknowledgedBy.id,
      acknowledgement.acknowledgedBy.username,
      acknowledgement.statement,
      acknowledgement.keyFingerprint,
      acknowledgement.signature,
    ],
  );
  return rows[0] ? toAlarm(rows[0]) : null;
}
