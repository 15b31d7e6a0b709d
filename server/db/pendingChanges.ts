/**
 * pending_admin_change (sql/000019): changes that wait for a second admin (the two-person rule,
 * server/pendingChanges/). A row is "other rows" in the lock order (docs/locking.md): a
 * transaction locks it after any user rows, and before a model row.
 */
import type { PendingChangeKind, PendingChangeSource, PendingChangeStatus } from '../../shared/api.ts';
import { query, type Queryable } from './pool.ts';

export interface PendingChangeRow {
  id: string;
  kind: PendingChangeKind;
  status: PendingChangeStatus;
  /** Who asked (sql/000027): an admin, or the company sign-in of the target user (requested_by). */
  source: PendingChangeSource;
  requested_by: string;
  requested_by_username: string;
  requested_at: Date;
  expires_at: Date;
  target_user_id: string | null;
  target_model_id: string | null;
  change: Record<string, unknown>;
  target_snapshot: Record<string, unknown>;
  token_hash: Buffer | null;
  decided_by: string | null;
  decided_by_username: string | null;
  decided_at: Date | null;
  /** Whether it is past its expiry by the database's clock (every node compares with the same one). */
  overdue: boolean;
}

const COLUMNS = `id, kind, status, source, requested_by, requested_by_username, requested_at, expires_at, target_user_id, target_model_id,
  change, target_snapshot, token_hash, decided_by, decided_by_username, decided_at, (status = 'pending' AND expires_at <= now()) AS overdue`;

export interface NewPendingChange {
  kind: PendingChangeKind;
  /** 'admin' unless said. */
  source?: PendingChangeSource;
  requestedBy: { id: string; username: string };
  hours: number;
  targetUserId: string | null;
  targetModelId: string | null;
  change: Record<string, unknown>;
  targetSnapshot: Record<string, unknown>;
  tokenHash: Buffer | null;
}

/** A new pending change; 23505 unique violation when one of its kind already waits for the same target. */
export async function insertPendingChange(db: Queryable, change: NewPendingChange): Promise<PendingChangeRow> {
  const { rows } = await query<PendingChangeRow>(
    db,
    'pending_change_insert',
    `INSERT INTO pending_admin_change (kind, requested_by, requested_by_username, expires_at, target_user_id, target_model_id, change, target_snapshot, token_hash, source)
     VALUES ($1::text, $2::uuid, $3::text, now() + make_interval(hours => $4::int), $5::uuid, $6::text, $7::jsonb, $8::jsonb, $9::bytea, $10::text)
     RETURNING ${COLUMNS}`,
    [
      change.kind,
      change.requestedBy.id,
      change.requestedBy.username,
      change.hours,
      change.targetUserId,
      change.targetModelId,
      JSON.stringify(change.change),
      JSON.stringify(change.targetSnapshot),
      change.tokenHash,
      change.source ?? 'admin',
    ],
  );
  return rows[0]!;
}

/** One pending change by id; `lock` holds its row until the transaction ends, so it is decided once. */
export async function getPendingChange(db: Queryable, id: string, lock = false): Promise<PendingChangeRow | null> {
  const { rows } = await query<PendingChangeRow>(
    db,
    lock ? 'pending_change_lock' : 'pending_change_by_id',
    `SELECT ${COLUMNS} FROM pending_admin_change WHERE id = $1::uuid${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] ?? null;
}

/**
 * The last promotion to admin that `userId`'s company sign-in asked for (source company_groups),
 * with whether it was rejected within the last `days` days; null if it never asked.
 */
export async function getLastGroupPromotion(db: Queryable, userId: string, days: number): Promise<(PendingChangeRow & { rejected_recently: boolean }) | null> {
  const { rows } = await query<PendingChangeRow & { rejected_recently: boolean }>(
    db,
    'pending_change_last_group_promotion',
    `SELECT ${COLUMNS}, (status = 'rejected' AND decided_at > now() - make_interval(days => $2::int)) AS rejected_recently
     FROM pending_admin_change WHERE target_user_id = $1::uuid AND source = 'company_groups'
     ORDER BY requested_at DESC LIMIT 1`,
    [userId, days],
  );
  return rows[0] ?? null;
}

/** The changes still waiting for a decision, newest first. */
export async function listWaitingPendingChanges(db: Queryable, limit: number): Promise<PendingChangeRow[]> {
  const { rows } = await query<PendingChangeRow>(
    db,
    'pending_changes_waiting',
    `SELECT ${COLUMNS} FROM pending_admin_change WHERE status = 'pending' ORDER BY requested_at DESC, id DESC LIMIT $1::int`,
    [limit],
  );
  return rows;
}

/** Records a decision on a change the caller has locked. */
export async function closePendingChange(
  db: Queryable,
  id: string,
  decision: { status: Exclude<PendingChangeStatus, 'pending' | 'expired'>; decidedBy: { id: string; username: string } },
): Promise<PendingChangeRow> {
  const { rows } = await query<PendingChangeRow>(
    db,
    'pending_change_close',
    `UPDATE pending_admin_change SET status = $2::text, decided_by = $3::uuid, decided_by_username = $4::text, decided_at = now()
     WHERE id = $1::uuid RETURNING ${COLUMNS}`,
    [id, decision.status, decision.decidedBy.id, decision.decidedBy.username],
  );
  return rows[0]!;
}

/**
 * Marks every waiting change past its expiry as expired, and answers them. The UPDATE claims
 * each row, so two nodes sweeping at once never expire (and audit) the same change twice.
 * `id` narrows it to one change.
 */
export async function expireOverduePendingChanges(db: Queryable, id?: string): Promise<PendingChangeRow[]> {
  const { rows } = await query<PendingChangeRow>(
    db,
    'pending_changes_expire',
    `UPDATE pending_admin_change SET status = 'expired', decided_at = expires_at
     WHERE status = 'pending' AND expires_at <= now() AND ($1::uuid IS NULL OR id = $1::uuid)
     RETURNING ${COLUMNS.replace("(status = 'pending' AND expires_at <= now())", 'false')}`,
    [id ?? null],
  );
  return rows;
}

/**
 * How many admins other than `userId` could approve a change: active admins with at least one
 * active security key (the step-up an approval needs takes one). An admin who never enrolled,
 * or who lost every key, cannot approve, and does not make the rule apply.
 */
export async function countOtherApprovers(db: Queryable, userId: string): Promise<number> {
  const { rows } = await query<{ n: number }>(
    db,
    'pending_change_other_approvers',
    `SELECT count(*)::int AS n FROM app_user u
     WHERE u.role = 'admin' AND u.status = 'active' AND u.id <> $1::uuid
       AND EXISTS (SELECT 1 FROM security_key k WHERE k.user_id = u.id AND k.status = 'active')`,
    [userId],
  );
  return rows[0]!.n;
}
