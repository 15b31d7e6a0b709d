/**
 * The first security key of a user who arrived through company sign-in with none (issue #20),
 * registered with the same ceremony as an enrollment's key step (server/keys/registerKey.ts).
 * OIDC_FIRST_KEY=self: the key is active and the registration signs the session in, as an
 * enrollment's does. OIDC_FIRST_KEY=approval: the key is stored `pending_approval` and counts
 * for nothing until an admin approves it with a fresh step-up. Either way it is audited
 * `high` (key.first_key_registered), which puts it in the admins' live feed.
 */
import type { AuditInput } from '../audit/record.ts';
import { getKeysForUser, setKeyStatus, type KeyRow } from '../db/keys.ts';
import { lockUser, type UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import { registerKey, type KeyRegistration, type RegistrationFailure } from '../keys/registerKey.ts';

export type FirstKeyResult =
  | { registered: true; key: KeyRow; approvalRequired: boolean }
  | { registered: false; reason: RegistrationFailure | 'has_key' };

/** Thrown inside the key's transaction to roll it back: the user got another key meanwhile (a second tab). */
class AlreadyHasKey extends Error {
  override name = 'AlreadyHasKey';
}

export const PENDING_APPROVAL_REASON = 'Registered after company sign-in: waits for an administrator to approve it.';

export async function registerFirstKey(
  deps: Pick<Deps, 'pool' | 'config' | 'challenges' | 'fidoMetadata'>,
  { user, approvalRequired, ...registration }: KeyRegistration & { user: UserRow; approvalRequired: boolean },
): Promise<FirstKeyResult> {
  try {
    const result = await registerKey(deps, {
      ...registration,
      user,
      onRegistered: async (client, key, credential): Promise<AuditInput[]> => {
        // Under the user's row lock: only a user with no other key gets a key this way.
        await lockUser(client, user.id);
        const others = (await getKeysForUser(client, user.id)).filter((other) => other.id !== key.id);
        if (others.length > 0) throw new AlreadyHasKey();
        if (approvalRequired) await setKeyStatus(client, key.id, 'pending_approval', PENDING_APPROVAL_REASON);
        const target = { type: 'user', id: user.id };
        const events: AuditInput[] = [
          {
            action: 'key.first_key_registered',
            outcome: 'success',
            target: { type: 'security_key', id: key.id },
            details: { ownerId: user.id, ownerUsername: user.username, via: 'company_sign_in', approval: approvalRequired ? 'required' : 'not_required', credential },
          },
        ];
        if (!approvalRequired) events.push({ action: 'auth.signin', outcome: 'success', target, details: { method: 'oidc_first_key', keyId: key.id } });
        return events;
      },
    });
    if (!result.registered) return result;
    return { registered: true, key: approvalRequired ? { ...result.key, status: 'pending_approval', status_reason: PENDING_APPROVAL_REASON } : result.key, approvalRequired };
  } catch (error) {
    if (error instanceof AlreadyHasKey) return { registered: false, reason: 'has_key' };
    throw error;
  }
}
