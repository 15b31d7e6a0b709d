import type { Role, UserStatus } from '../../shared/api.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { withTransaction } from '../db/pool.ts';
import { lockUserWithActiveAdmins, updateUser, type UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';

export type ChangeUserResult =
  | { changed: true; user: UserRow; sessionsEnded: number }
  | { changed: false; reason: 'not_found' | 'last_admin' };

/**
 * Changes a user's status or role. Nobody can disable or demote the last active admin.
 * Disabling ends every session of the user, after the change has committed, and so does a
 * role change: an open WebSocket keeps the role it was opened with (an admin's live audit
 * feed, say), so the person signs in again under the new role.
 */
export async function changeUser(
  { pool, sessions, grants }: Pick<Deps, 'pool' | 'sessions' | 'grants'>,
  { userId, status, role, context }: { userId: string; status?: UserStatus | undefined; role?: Role | undefined; context: AuditContext },
): Promise<ChangeUserResult> {
  const result = await withTransaction(pool, async (client) => {
    // The user and every active admin, locked in id order (docs/locking.md).
    const { user: before, activeAdmins } = await lockUserWithActiveAdmins(client, userId);
    if (!before) return { changed: false as const, reason: 'not_found' as const };
    const losesAdmin = before.role === 'admin' && before.status === 'active' && (status === 'disabled' || (role !== undefined && role !== 'admin'));
    if (losesAdmin && activeAdmins.length <= 1) return { changed: false as const, reason: 'last_admin' as const };

    const after = await updateUser(client, userId, { status, role });
    const target = { type: 'user', id: userId };
    if (before.status !== after.status) {
      await recordAuditEvent(client, context, {
        action: after.status === 'disabled' ? 'user.disabled' : 'user.enabled',
        outcome: 'success',
        target,
        details: { username: after.username, before: before.status, after: after.status },
      });
    }
    if (before.role !== after.role) {
      await recordAuditEvent(client, context, {
        action: 'user.role_changed',
        outcome: 'success',
        target,
        details: { username: after.username, before: before.role, after: after.role },
      });
    }
    return {
      changed: true as const,
      user: after,
      disabledNow: before.status !== 'disabled' && after.status === 'disabled',
      roleChanged: before.role !== after.role,
    };
  });
  if (!result.changed) return result;
  // Sessions also re-check the user's status on every request, so this is belt and braces
  // for the window between commit and here, and frees the Redis entries at once.
  // Grants first: access ends before anything else (docs/architecture.md invariant 2).
  if (result.disabledNow) await grants.endForUser(userId, 'user_disabled', context);
  else if (result.roleChanged) await grants.endForUser(userId, 'admin_revoked', context);
  // Each ended session also closes its WebSockets on every node (SESSION_ENDED over the bus).
  const sessionsEnded = result.disabledNow || result.roleChanged ? await sessions.destroyAllForUser(userId) : 0;
  return { changed: true, user: result.user, sessionsEnded };
}
