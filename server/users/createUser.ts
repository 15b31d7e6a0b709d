import type { EnrollmentLink, Role } from '../../shared/api.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import type { Config } from '../config.ts';
import { PG_UNIQUE_VIOLATION, pgErrorCode, withTransaction, type Pool } from '../db/pool.ts';
import { insertUser, type UserRow } from '../db/users.ts';
import type { TwoPersonRuleNote } from '../pendingChanges/twoPersonRule.ts';
import { writeEnrollmentLink } from './enrollmentLink.ts';

export type CreateUserResult = { created: true; user: UserRow; enrollment: EnrollmentLink } | { created: false; reason: 'username_taken' };

/** Creates a user with no password and a one-time enrollment link, audited in one transaction. */
export async function createUserWithEnrollment({
  pool,
  config,
  username,
  displayName,
  role,
  context,
  twoPersonRule,
}: {
  pool: Pool;
  config: Config;
  username: string;
  displayName: string;
  role: Role;
  context: AuditContext;
  /** For an admin: what the two-person rule made of it, recorded in user.admin_created. */
  twoPersonRule?: TwoPersonRuleNote | undefined;
}): Promise<CreateUserResult> {
  try {
    return await withTransaction(pool, async (client) => {
      // Every row first, the audit events last: the chain lock is the last lock taken (docs/locking.md).
      const user = await insertUser(client, { username, displayName, role });
      const { link, auditEvent } = await writeEnrollmentLink(client, { config, userId: user.id, username: user.username, context });
      await recordAuditEvent(client, context, {
        action: role === 'admin' ? 'user.admin_created' : 'user.created',
        outcome: 'success',
        target: { type: 'user', id: user.id },
        details: { username: user.username, role, ...(role === 'admin' ? twoPersonRule : undefined) },
      });
      await recordAuditEvent(client, context, auditEvent);
      return { created: true as const, user, enrollment: link };
    });
  } catch (error) {
    // 23505 unique violation: the (case-insensitive) username exists.
    if (pgErrorCode(error) === PG_UNIQUE_VIOLATION) return { created: false, reason: 'username_taken' };
    throw error;
  }
}
