import type { Role, UserStatus } from '../../shared/api.ts';
import { recordAuditEvent, type AuditContext, type AuditInput } from '../audit/record.ts';
import { withTransaction, type PoolClient } from '../db/pool.ts';
import { lockUserWithActiveAdmins, updateUser, type UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import type { TwoPersonRuleNote } from '../pendingChanges/twoPersonRule.ts';

export type ChangeUserResult =
  | { changed: true; user: UserRow; sessionsEnded: number }
  | { changed: false; reason: 'not_found' | 'last_admin' };

export interface UserChange {
  userId: string;
  status?: UserStatus | undefined;
  role?: Role | undefined;
  /** For a promotion to admin: what the two-person rule made of it, recorded in user.role_changed. */
  twoPersonRule?: TwoPersonRuleNote | undefined;
}

/** A user change written in a transaction: the user as it left them, what must follow the commit, and its audit events. */
export type AppliedUserChange =
  | { changed: true; user: UserRow; disabledNow: boolean; roleChanged: boolean; auditEvents: AuditInput[] }
  | { changed: false; reason: 'not_found' | 'last_admin' };

/**
 * Changes a user's status or role. Nobody can disable or demote the last active admin.
 * Disabling ends every session of the user, after the change has committed, and so does a
 * role change: an open WebSocket keeps the role it was opened with (an admin's live audit
 * feed, say), so the person signs in again under the new role.
 */
export async function changeUser(
  deps: Pick<Deps, 'pool' | 'sessions' | 'grants'>,
  { context, ...change }: UserChange & { context: AuditContext },
): Promise<ChangeUserResult> {
  const result = await withTransaction(deps.pool, async (client) => {
    const applied = await applyUserChange(client, change);
    if (applied.changed) for (const event of applied.auditEvents) await recordAuditEvent(client, context, event);
    return applied;
  });
  if (!result.changed) return result;
  const sessionsEnded = await endAccessAfterUserChange(deps, { userId: change.userId, applied: result, context });
  return { changed: true, user: result.user, sessionsEnded };
}

/**
 * The rows of a user change, in the caller's transaction: the user and every active admin are
 * locked in id order (docs/locking.md), the change is checked and written, and its audit events
 * are answered for the caller to append once all its rows are written (the chain lock is last).
 */
export async function applyUserChange(client: PoolClient, { userId, status, role, twoPersonRule }: UserChange): Promise<AppliedUserChange> {
  const { user: before, activeAdmins } = await lockUserWithActiveAdmins(client, userId);
  if (!before) return { changed: false, reason: 'not_found' };
  const losesAdmin = before.role === 'admin' && before.status === 'active' && (status === 'disabled' || (role !== undefined && role !== 'admin'));
  if (losesAdmin && activeAdmins.length <= 1) return { changed: false, reason: 'last_admin' };

  const after = await updateUser(client, userId, { status, role });
  const target = { type: 'user', id: userId };
  const auditEvents: AuditInput[] = [];
  if (before.status !== after.status) {
    auditEvents.push({
      action: after.status === 'disabled' ? 'user.disabled' : 'user.enabled',
      outcome: 'success',
      target,
      details: { username: after.username, before: before.status, after: after.status },
    });
  }
  if (before.role !== after.role) {
    auditEvents.push({
      action: 'user.role_changed',
      outcome: 'success',
      target,
      details: { username: after.username, before: before.role, after: after.role, ...(after.role === 'admin' ? twoPersonRule : undefined) },
    });
  }
  return {
    changed: true,
    user: after,
    disabledNow: before.status !== 'disabled' && after.status === 'disabled',
    roleChanged: before.role !== after.role,
    auditEvents,
  };
}

/**
 * After a user change has committed: a user disabled or given another role loses their grants
 * and their sessions at once. Answers how many sessions ended.
 */
export async function endAccessAfterUserChange(
  { sessions, grants }: Pick<Deps, 'sessions' | 'grants'>,
  { userId, applied, context }: { userId: string; applied: Extract<AppliedUserChange, { changed: true }>; context: AuditContext },
): Promise<number> {
  // Sessions also re-check the user's status on every request, so this is belt and braces
  // for the window between commit and here, and frees the Redis entries at once.
  // Grants first: access ends before anything else (docs/architecture.md invariant 2).
  if (applied.disabledNow) await grants.endForUser(userId, 'user_disabled', context);
  else if (applied.roleChanged) await grants.endForUser(userId, 'admin_revoked', context);
  // Each ended session also closes its WebSockets on every node (SESSION_ENDED over the bus).
  return applied.disabledNow || applied.roleChanged ? sessions.destroyAllForUser(userId) : 0;
}
