import type { AdminUserView, CompanySignIn, EnrollmentState, PublicUser, Role, UserStatus } from '../../shared/api.ts';
import { query, type Queryable } from './pool.ts';

export interface UserRow {
  id: string;
  username: string;
  display_name: string;
  role: Role;
  status: UserStatus;
  password_hash: string | null;
  created_at: Date;
}

const COLUMNS = 'id, username, display_name, role, status, password_hash, created_at';

/** The public encoder: the only way a user leaves the server. No hash, ever. */
export function toPublicUser(row: UserRow): PublicUser {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    status: row.status,
    createdAt: row.created_at.toISOString(),
  };
}

export async function getUserById(db: Queryable, id: string): Promise<UserRow | null> {
  const { rows } = await query<UserRow>(db, 'user_by_id', `SELECT ${COLUMNS} FROM app_user WHERE id = $1::uuid`, [id]);
  return rows[0] ?? null;
}

export async function getUserByUsername(db: Queryable, username: string): Promise<UserRow | null> {
  const { rows } = await query<UserRow>(
    db,
    'user_by_username',
    `SELECT ${COLUMNS} FROM app_user WHERE lower(username) = lower($1::text)`,
    [username],
  );
  return rows[0] ?? null;
}

export async function insertUser(
  db: Queryable,
  user: { username: string; displayName: string; role: Role },
): Promise<UserRow> {
  const { rows } = await query<UserRow>(
    db,
    'user_insert',
    `INSERT INTO app_user (username, display_name, role) VALUES ($1::text, $2::text, $3::text) RETURNING ${COLUMNS}`,
    [user.username, user.displayName, user.role],
  );
  return rows[0]!;
}

export async function setPasswordHash(db: Queryable, userId: string, passwordHash: string): Promise<void> {
  await query(db, 'user_set_password', 'UPDATE app_user SET password_hash = $2::text, updated_at = now() WHERE id = $1::uuid', [
    userId,
    passwordHash,
  ]);
}

/**
 * Row-locks the user so concurrent changes to the same user (and the last-admin check)
 * serialise. FOR NO KEY UPDATE, not FOR UPDATE: a row that only references the user (an
 * enrollment's created_by, a key's owner) can still be inserted meanwhile, since its
 * foreign-key check takes FOR KEY SHARE, which this does not block (docs/locking.md).
 */
export async function lockUser(db: Queryable, id: string): Promise<UserRow | null> {
  const { rows } = await query<UserRow>(db, 'user_lock', `SELECT ${COLUMNS} FROM app_user WHERE id = $1::uuid FOR NO KEY UPDATE`, [id]);
  return rows[0] ?? null;
}

export async function updateUser(db: Queryable, id: string, change: { status?: UserStatus; role?: Role }): Promise<UserRow> {
  const { rows } = await query<UserRow>(
    db,
    'user_update',
    `UPDATE app_user SET status = coalesce($2::text, status), role = coalesce($3::text, role), updated_at = now()
     WHERE id = $1::uuid RETURNING ${COLUMNS}`,
    [id, change.status ?? null, change.role ?? null],
  );
  return rows[0]!;
}

/**
 * Locks a user together with every active admin, all in id order in one statement (as
 * lockUser, FOR NO KEY UPDATE), so two concurrent demotions cannot each see the other as the
 * remaining admin. One statement in id order, not admins first and then the user: every
 * transaction locks user rows in id order (docs/locking.md), so one that locks this user and
 * an admin (a key reassigned to the admin) cannot deadlock with this.
 */
export async function lockUserWithActiveAdmins(db: Queryable, id: string): Promise<{ user: UserRow | null; activeAdmins: string[] }> {
  const { rows } = await query<UserRow>(
    db,
    'user_lock_with_active_admins',
    `SELECT ${COLUMNS} FROM app_user WHERE id = $1::uuid OR (role = 'admin' AND status = 'active') ORDER BY id FOR NO KEY UPDATE`,
    [id],
  );
  return {
    user: rows.find((row) => row.id === id) ?? null,
    activeAdmins: rows.filter((row) => row.role === 'admin' && row.status === 'active').map((row) => row.id),
  };
}

export interface UserFilter {
  q?: string | undefined;
  role?: Role | undefined;
  status?: UserStatus | undefined;
  /** Keyset cursor: the lower-cased username of the last row of the previous page. */
  afterUsername?: string | undefined;
  /** Exactly this user (links from the audit log carry ids). */
  id?: string | undefined;
  limit: number;
  /** An allowance to link older than this is shown as none (OIDC_LINK_ALLOWANCE_HOURS); null: any counts. */
  linkAllowanceHours?: number | null | undefined;
}

/** A user as the admin list reads them: the row, how far their enrollment got, keys, last sign-in. */
export interface AdminUserRow extends UserRow {
  enrollment: EnrollmentState;
  key_count: number;
  last_sign_in_at: Date | null;
  /** A company (OIDC) identity is linked, an admin allowed the next company sign-in to link, or neither (sql/000020). */
  company_sign_in: CompanySignIn;
}

export function toAdminUserView(row: AdminUserRow): AdminUserView {
  return {
    ...toPublicUser(row),
    enrollment: row.enrollment,
    keyCount: row.key_count,
    lastSignInAt: row.last_sign_in_at?.toISOString() ?? null,
    signIn: { password: row.password_hash !== null, company: row.company_sign_in },
  };
}

/**
 * One page of users for the admin console. The page is cut first (the inner query, served by
 * migration 000005's indexes), then each of its rows looks up its keys (security_key_user),
 * whether a link was used up (enrollment_user) and its last sign-in (the partial index
 * audit_event_signin_target of migration 000014: one index probe per row, however many
 * events the user has). Enrolled means a link was used up or a key exists (an account made
 * before links, or keys added by hand).
 */
export async function listUsers(db: Queryable, filter: UserFilter): Promise<AdminUserRow[]> {
  const { rows } = await query<AdminUserRow>(
    db,
    'user_list',
    `SELECT u.*, keys.key_count, signin.last_sign_in_at,
            CASE WHEN keys.key_count > 0 OR EXISTS (SELECT 1 FROM enrollment n WHERE n.user_id = u.id AND n.used_at IS NOT NULL)
                   THEN 'complete'
                 WHEN u.password_hash IS NOT NULL THEN 'password_set'
                 ELSE 'link_sent'
            END AS enrollment,
            CASE WHEN EXISTS (SELECT 1 FROM user_identity i WHERE i.user_id = u.id) THEN 'linked'
                 WHEN EXISTS (SELECT 1 FROM oidc_link_allowance a
                               WHERE a.user_id = u.id AND ($7::int IS NULL OR a.allowed_at > now() - make_interval(hours => $7::int))) THEN 'allowed'
                 ELSE 'none'
            END AS company_sign_in
     FROM (
       SELECT ${COLUMNS} FROM app_user
       WHERE ($1::text IS NULL OR lower(username) LIKE '%' || $1::text || '%' OR lower(display_name) LIKE '%' || $1::text || '%')
         AND ($6::uuid IS NULL OR id = $6::uuid)
         AND ($2::text IS NULL OR role = $2::text)
         AND ($3::text IS NULL OR status = $3::text)
         AND ($4::text IS NULL OR lower(username) > $4::text)
       ORDER BY lower(username)
       LIMIT $5::int
     ) u
     CROSS JOIN LATERAL (SELECT count(*)::int AS key_count FROM security_key k WHERE k.user_id = u.id) keys
     LEFT JOIN LATERAL (
       SELECT e.time AS last_sign_in_at FROM audit_event e
       WHERE e.target_id = u.id::text AND e.action = 'auth.signin' AND e.outcome = 'success'
       ORDER BY e.seq DESC LIMIT 1
     ) signin ON true
     ORDER BY lower(u.username)`,
    [
      filter.q ? escapeLike(filter.q.toLowerCase()) : null,
      filter.role ?? null,
      filter.status ?? null,
      filter.afterUsername ?? null,
      filter.limit,
      filter.id ?? null,
      filter.linkAllowanceHours ?? null,
    ],
  );
  return rows;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Deletes a user; their keys, enrollment links and conversations go with them (ON DELETE
 * CASCADE). audit_event keeps actor_id and actor_username as plain columns with no foreign
 * key, so their history stays, under the name they had at the time.
 */
export async function deleteUserRow(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await query(db, 'user_delete', 'DELETE FROM app_user WHERE id = $1::uuid', [id]);
  return rowCount === 1;
}

/** Usernames by id, for lists that hold only ids (live sessions). */
export async function getUsernamesByIds(db: Queryable, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await query<{ id: string; username: string }>(db, 'usernames_by_ids', 'SELECT id, username FROM app_user WHERE id = ANY($1::uuid[])', [ids]);
  return new Map(rows.map((row) => [row.id, row.username]));
}

export async function countActiveUsers(db: Queryable): Promise<number> {
  const { rows } = await query<{ n: number }>(db, 'users_active_count', "SELECT count(*)::int AS n FROM app_user WHERE status = 'active'");
  return rows[0]?.n ?? 0;
}
