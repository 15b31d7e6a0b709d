/**
 * Company identities (sql/000020): `user_identity` links a provider's (issuer, subject) to an
 * account; `oidc_link_allowance` is an admin's leave for the next company sign-in under an
 * account's username to link to it.
 */
import { query, type Queryable } from './pool.ts';

export interface IdentityRow {
  user_id: string;
  issuer: string;
  subject: string;
  created_at: Date;
  last_sign_in_at: Date | null;
}

/** The account linked to this (issuer, subject), if any. */
export async function getIdentity(db: Queryable, issuer: string, subject: string): Promise<IdentityRow | null> {
  const { rows } = await query<IdentityRow>(
    db,
    'identity_by_subject',
    'SELECT user_id, issuer, subject, created_at, last_sign_in_at FROM user_identity WHERE issuer = $1::text AND subject = $2::text',
    [issuer, subject],
  );
  return rows[0] ?? null;
}

/** Links (issuer, subject) to a user. A pair already linked (to anyone) raises 23505. */
export async function insertIdentity(db: Queryable, identity: { userId: string; issuer: string; subject: string }): Promise<void> {
  await query(db, 'identity_insert', 'INSERT INTO user_identity (user_id, issuer, subject, last_sign_in_at) VALUES ($1::uuid, $2::text, $3::text, now())', [
    identity.userId,
    identity.issuer,
    identity.subject,
  ]);
}

export async function touchIdentity(db: Queryable, issuer: string, subject: string): Promise<void> {
  await query(db, 'identity_touch', 'UPDATE user_identity SET last_sign_in_at = now() WHERE issuer = $1::text AND subject = $2::text', [issuer, subject]);
}

/** Removes every identity linked to a user and any allowance; answers how many identities went. */
export async function deleteIdentitiesOfUser(db: Queryable, userId: string): Promise<{ identities: number; allowance: boolean }> {
  const identities = await query(db, 'identity_delete_for_user', 'DELETE FROM user_identity WHERE user_id = $1::uuid', [userId]);
  const allowance = await query(db, 'link_allowance_delete', 'DELETE FROM oidc_link_allowance WHERE user_id = $1::uuid', [userId]);
  return { identities: identities.rowCount ?? 0, allowance: (allowance.rowCount ?? 0) > 0 };
}

export async function countIdentitiesOfUser(db: Queryable, userId: string): Promise<number> {
  const { rows } = await query<{ n: number }>(db, 'identity_count_for_user', 'SELECT count(*)::int AS n FROM user_identity WHERE user_id = $1::uuid', [userId]);
  return rows[0]?.n ?? 0;
}

/** Allows the next company sign-in under this user's username to link to it (an admin's act). */
export async function allowLink(db: Queryable, userId: string, allowedBy: string | null): Promise<void> {
  await query(
    db,
    'link_allowance_upsert',
    `INSERT INTO oidc_link_allowance (user_id, allowed_by) VALUES ($1::uuid, $2::uuid)
     ON CONFLICT (user_id) DO UPDATE SET allowed_by = EXCLUDED.allowed_by, allowed_at = now()`,
    [userId, allowedBy],
  );
}

/**
 * Uses up the allowance of a user, under the caller's transaction: true when there was one.
 * DELETE … RETURNING, so two sign-ins racing for it cannot both take it.
 */
export async function takeLinkAllowance(db: Queryable, userId: string): Promise<boolean> {
  const { rowCount } = await query(db, 'link_allowance_take', 'DELETE FROM oidc_link_allowance WHERE user_id = $1::uuid', [userId]);
  return (rowCount ?? 0) > 0;
}
