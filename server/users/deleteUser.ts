import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { getKeysForUser } from '../db/keys.ts';
import { PG_FOREIGN_KEY_VIOLATION, pgErrorCode, withTransaction } from '../db/pool.ts';
import { deleteUserRow, lockUserWithActiveAdmins } from '../db/users.ts';
import type { Deps } from '../deps.ts';

export type DeleteUserResult =
  | { deleted: true; sessionsEnded: number }
  | { deleted: false; reason: 'not_found' | 'last_admin' | 'still_referenced' };

/**
 * Deletes a user with their keys, links and conversations. Their audit history stays: the
 * audit log names actors by id and by the username they had at the time, with no foreign
 * key, and the deletion itself is recorded with the username. Nobody can delete the last
 * active admin. Their grants and sessions (and so their WebSockets) end once it commits.
 */
export async function deleteUser(
  { pool, sessions, grants }: Pick<Deps, 'pool' | 'sessions' | 'grants'>,
  { userId, context }: { userId: string; context: AuditContext },
): Promise<DeleteUserResult> {
  const result = await withTransaction(pool, async (client) => {
    // The user and every active admin, locked in id order (docs/locking.md).
    const { user, activeAdmins } = await lockUserWithActiveAdmins(client, userId);
    if (!user) return { deleted: false as const, reason: 'not_found' as const };
    if (user.role === 'admin' && user.status === 'active' && activeAdmins.length <= 1) {
      return { deleted: false as const, reason: 'last_admin' as const };
    }
    const keys = await getKeysForUser(client, userId);
    // The row goes before the event is appended: the chain lock is the last lock taken (docs/locking.md).
    await deleteUserRow(client, userId);
    await recordAuditEvent(client, context, {
      action: 'user.deleted',
      outcome: 'success',
      target: { type: 'user', id: userId },
      details: {
        username: user.username,
        displayName: user.display_name,
        role: user.role,
        status: user.status,
        // Each key's credential, as key.deleted names it: the owner history presence proofs follow (docs/presence-proofs.md).
        keysDeleted: keys.map((key) => ({
          id: key.id,
          nickname: key.nickname,
          modelName: key.model_name,
          status: key.status,
          credential: { id: key.credential_id.toString('base64url'), userId },
        })),
      },
    });
    return { deleted: true as const };
  }).catch((error: unknown) => {
    // 23503: a table references app_user with no ON DELETE rule. The transaction, with its
    // audit event, rolled back; refuse clearly rather than answer 500.
    if (pgErrorCode(error) === PG_FOREIGN_KEY_VIOLATION) return { deleted: false as const, reason: 'still_referenced' as const };
    throw error;
  });
  if (!result.deleted) return result;
  await grants.endForUser(userId, 'admin_revoked', context);
  return { deleted: true, sessionsEnded: await sessions.destroyAllForUser(userId) };
}
