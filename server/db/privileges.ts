import { escapeIdentifier, escapeLiteral, pgErrorCode, PG_UNIQUE_VIOLATION, query, type Queryable } from './pool.ts';

/**
 * What the connected role may do to the audit chain beyond reading it and appending through
 * the SECURITY DEFINER functions (sql/000015). In a least-privilege deployment every flag is
 * false; a legacy single-role deployment (the server connects as the owner) or a superuser
 * has some of them, and then the append-only triggers stop mistakes, not an attacker holding
 * the server's credentials.
 */
export interface DatabasePrivileges {
  role: string;
  /** INSERT, UPDATE, DELETE or TRUNCATE on audit_event or audit_checkpoint. */
  writesAuditTables: boolean;
  /** Owns the audit tables, or may SET ROLE to their owner: ALTER TABLE, DISABLE TRIGGER, DROP. */
  ownsAuditTables: boolean;
  /**
   * May create objects in schema public, where the SECURITY DEFINER functions look names up:
   * it could plant a better-matching function there (PostgreSQL 14 and older allow this to
   * every role unless revoked).
   */
  createsInSchema: boolean;
  /** A superuser may do all of the above, and switch triggers off with session_replication_role. */
  superuser: boolean;
}

/** One catalog query, cheap enough for every /readyz. */
export async function readDatabasePrivileges(db: Queryable): Promise<DatabasePrivileges> {
  const { rows } = await query<{ role: string; writes: boolean; owns: boolean; creates: boolean; superuser: boolean }>(
    db,
    'database_privileges',
    `SELECT current_user AS role,
            has_table_privilege('public.audit_event', 'INSERT, UPDATE, DELETE, TRUNCATE')
              OR has_table_privilege('public.audit_checkpoint', 'INSERT, UPDATE, DELETE, TRUNCATE') AS writes,
            EXISTS (SELECT 1 FROM pg_class c
                     WHERE c.oid IN ('public.audit_event'::regclass, 'public.audit_checkpoint'::regclass)
                       AND pg_has_role(c.relowner, 'MEMBER')) AS owns,
            has_schema_privilege('public', 'CREATE') AS creates,
            (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) AS superuser`,
  );
  const row = rows[0]!;
  return { role: row.role, writesAuditTables: row.writes, ownsAuditTables: row.owns, createsInSchema: row.creates, superuser: row.superuser };
}

export function hasLeastPrivilege(privileges: DatabasePrivileges): boolean {
  return !privileges.writesAuditTables && !privileges.ownsAuditTables && !privileges.createsInSchema && !privileges.superuser;
}

/** The excess privileges in words, for the start-up warning. */
export function describeExcessPrivileges(privileges: DatabasePrivileges): string[] {
  return [
    privileges.superuser && 'is a superuser',
    privileges.ownsAuditTables && 'owns the audit tables (may ALTER them and DISABLE TRIGGER)',
    privileges.writesAuditTables && 'may INSERT, UPDATE, DELETE or TRUNCATE audit_event or audit_checkpoint',
    privileges.createsInSchema && 'may create objects in schema public',
  ].filter((problem): problem is string => typeof problem === 'string');
}

/** 42710 duplicate_object; 23505 when another session created the same role while this one waited. */
const ROLE_RACE_CODES = new Set(['42710', PG_UNIQUE_VIOLATION]);

/**
 * Makes `role` a LOGIN role that is a member of argus_app (and nothing else), creating it if it
 * is missing: for the embedded PostgreSQL and the tests; an operator does the same by hand
 * (docs/deploy.md, "Database roles"). `password` is given to a new role, and to an existing one
 * when `resetPassword` is set. Runs as a role that may create roles, after sql/000015 made argus_app.
 */
export async function ensureAppLoginRole(
  db: Queryable,
  { role, password, resetPassword = false }: { role: string; password?: string | undefined; resetPassword?: boolean },
): Promise<{ created: boolean }> {
  const name = escapeIdentifier(role);
  // Roles take no bind parameters: the password goes in as a quoted literal (query() never logs text).
  const passwordClause = password === undefined ? '' : ` PASSWORD ${escapeLiteral(password)}`;
  const { rows } = await query<{ member: boolean }>(db, 'app_role_state', `SELECT pg_has_role(r.oid, 'argus_app', 'MEMBER') AS member FROM pg_roles r WHERE r.rolname = $1::text`, [role]);
  if (rows.length === 0) {
    try {
      await query(db, 'app_role_create', `CREATE ROLE ${name} LOGIN${passwordClause} IN ROLE argus_app`);
      return { created: true };
    } catch (error) {
      // Another process created it first: carry on as if it had been there (below).
      if (!ROLE_RACE_CODES.has(pgErrorCode(error) ?? '')) throw error;
    }
  }
  if (rows[0] && !rows[0].member) await query(db, 'app_role_grant', `GRANT argus_app TO ${name}`);
  if (resetPassword && password !== undefined) await query(db, 'app_role_password', `ALTER ROLE ${name} LOGIN${passwordClause}`);
  return { created: false };
}
