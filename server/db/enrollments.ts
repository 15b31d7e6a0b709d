import { query, type Queryable } from './pool.ts';

export interface EnrollmentRow {
  id: string;
  user_id: string;
  expires_at: Date;
  password_set_at: Date | null;
  used_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = 'id, user_id, expires_at, password_set_at, used_at, revoked_at';

export async function insertEnrollment(
  db: Queryable,
  enrollment: { userId: string; tokenHash: Buffer; createdBy: string | null; expiresAt: Date },
): Promise<EnrollmentRow> {
  const { rows } = await query<EnrollmentRow>(
    db,
    'enrollment_insert',
    `INSERT INTO enrollment (user_id, token_hash, created_by, expires_at)
     VALUES ($1::uuid, $2::bytea, $3::uuid, $4::timestamptz) RETURNING ${COLUMNS}`,
    [enrollment.userId, enrollment.tokenHash, enrollment.createdBy, enrollment.expiresAt],
  );
  return rows[0]!;
}

/** A new link replaces any unused one for the same user. */
export async function revokeOpenEnrollments(db: Queryable, userId: string): Promise<number> {
  const { rowCount } = await query(
    db,
    'enrollment_revoke_open',
    `UPDATE enrollment SET revoked_at = now() WHERE user_id = $1::uuid AND used_at IS NULL AND revoked_at IS NULL`,
    [userId],
  );
  return rowCount ?? 0;
}

/** The enrollment for a token hash, if it is still usable (not used, revoked or expired). */
export async function getOpenEnrollment(db: Queryable, tokenHash: Buffer, lock = false): Promise<EnrollmentRow | null> {
  const { rows } = await query<EnrollmentRow>(
    db,
    lock ? 'enrollment_lock_open' : 'enrollment_open',
    `SELECT ${COLUMNS} FROM enrollment
     WHERE token_hash = $1::bytea AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
     ${lock ? 'FOR UPDATE' : ''}`,
    [tokenHash],
  );
  return rows[0] ?? null;
}

export async function markPasswordSet(db: Queryable, id: string): Promise<void> {
  await query(db, 'enrollment_password_set', 'UPDATE enrollment SET password_set_at = now() WHERE id = $1::uuid', [id]);
}

export async function markEnrollmentUsed(db: Queryable, id: string): Promise<void> {
  await query(db, 'enrollment_used', 'UPDATE enrollment SET used_at = now() WHERE id = $1::uuid', [id]);
}

export async function markKeyRegistered(db: Queryable, id: string): Promise<void> {
  await query(db, 'enrollment_key_registered', 'UPDATE enrollment SET key_registered_at = now() WHERE id = $1::uuid', [id]);
}
