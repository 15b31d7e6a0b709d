/**
 * Company identities (sql/000020): `user_identity` links a provider's (issuer, subject) to an
 * account; `oidc_link_allowance` is an admin's leave for the next company sign-in under an
 * account's username to link to it, usable for OIDC_LINK_ALLOWANCE_HOURS after `allowed_at`.
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

/**
 * Allows the next company sign-in under this user's username to link to it (an admin's act),
 * for `hours` from now; allowing again starts the time afresh. Answers when it expires.
 */
export async function allowLink(db: Queryable, userId: string, allowedBy: string | null, hours: number): Promise<{ expiresAt: Date }> {
  const { rows } = await query<{ expires_at: Date }>(
    db,
    'link_allowance_upsert',
    `INSERT INTO oidc_link_allowance (user_id, allowed_by) VALUES ($1::uuid, $2::uuid)
     ON CONFLICT (user_id) DO UPDATE SET allowed_by = EXCLUDED.allowed_by, allowed_at = now()
     RETURNING allowed_at + make_interval(hours => $3::int) AS expires_at`,
    [userId, allowedBy, hours],
  );
  return { expiresAt: rows[0]!.expires_at };
}

/** `expired`: there is one, older than the hours it is good for; it stays (an admin allows again, or removes it). */
export type LinkAllowanceTaken = 'taken' | 'expired' | 'none';

/**
 * Uses up the allowance of a user if it is younger than `hours`, under the caller's
 * transaction. DELETE … RETURNING, so two sign-ins racing for it cannot both take it.
 */
export async function takeLinkAllowance(db: Queryable, userId: string, hours: number): Promise<LinkAllowanceTaken> {
  const { rows } = await query<{ taken: boolean; present: boolean }>(
    db,
    'link_allowance_take',
    // The outer SELECT sees the table as it was before the DELETE: `present` counts a taken one too.
    `WITH taken AS (
       DELETE FROM oidc_link_allowance
        WHERE user_id = $1::uuid AND allowed_at > now() - make_interval(hours => $2::int)
       RETURNING 1
     )
     SELECT EXISTS (SELECT 1 FROM taken) AS taken,
            EXISTS (SELECT 1 FROM oidc_link_allowance WHERE user_id = $1::uuid) AS present`,
    [userId, hours],
  );
  const row = rows[0]!;
  return row.taken ? 'taken' : row.present ? 'expired' : 'none';
}
