import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { checkPassword } from '../auth/passwordPolicy.ts';
import { mayUsePassword } from '../auth/signIn.ts';
import { UNKNOWN_DEVICES } from '../auth/signInThrottle.ts';
import { getOpenEnrollment, markEnrollmentUsed, markKeyRegistered, markPasswordSet, type EnrollmentRow } from '../db/enrollments.ts';
import type { KeyRow } from '../db/keys.ts';
import { withTransaction } from '../db/pool.ts';
import { getUserById, lockUser, setPasswordHash, type UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import { registerKey, type KeyRegistration, type RegistrationFailure } from '../keys/registerKey.ts';
import { hashEnrollmentToken } from './enrollmentLink.ts';

/*
 * The enrollment ceremony a one-time link starts (server/routes/enrollment.ts answers it):
 * - findOpenEnrollment: the open enrollment behind a token, with its active user;
 * - setEnrollmentPassword: step 1, choose the password;
 * - confirmEnrollmentPassword: resume a half-finished enrollment with that password;
 * - completeEnrollment: step 2, register the security key; the link is then used up.
 * Each step's audit event is written in the transaction of its change, after its rows
 * (docs/locking.md). `context` names the enrolling user as the actor.
 * With PASSWORD_SIGNIN=false a password is of use to break-glass admins only: the password
 * steps refuse everyone else (`password_signin_disabled`), whose accounts come through
 * company sign-in instead.
 */

export interface OpenEnrollment {
  enrollment: EnrollmentRow;
  user: UserRow;
}

/** The open enrollment behind a token and its user, or null if the link is unusable or the user is not active. */
export async function findOpenEnrollment({ pool }: Pick<Deps, 'pool'>, token: string): Promise<OpenEnrollment | null> {
  const enrollment = await getOpenEnrollment(pool, hashEnrollmentToken(token));
  const user = enrollment && (await getUserById(pool, enrollment.user_id));
  if (!enrollment || !user || user.status !== 'active') return null;
  return { enrollment, user };
}

export type SetPasswordResult =
  | { set: true }
  | { set: false; reason: 'link_invalid' | 'password_already_set' | 'password_signin_disabled' }
  | { set: false; reason: 'weak_password'; message: string };

/** Step 1: sets the user's first password, once per enrollment. */
export async function setEnrollmentPassword(
  { config, pool, hasher }: Pick<Deps, 'config' | 'pool' | 'hasher'>,
  { token, enrollment, user, password, context }: OpenEnrollment & { token: string; password: string; context: AuditContext },
): Promise<SetPasswordResult> {
  if (!mayUsePassword(config, user)) return { set: false, reason: 'password_signin_disabled' };
  // A password chosen earlier is confirmed (resume), never replaced through the link.
  if (enrollment.password_set_at) return { set: false, reason: 'password_already_set' };
  const verdict = checkPassword({ password, username: user.username });
  if (!verdict.ok) return { set: false, reason: 'weak_password', message: verdict.message };
  // Hash outside the transaction: it is slow and needs no locks.
  const passwordHash = await hasher.hash(password);
  return withTransaction(pool, async (client): Promise<SetPasswordResult> => {
    // The user first, then the enrollment (docs/locking.md). Re-read under the row lock: two
    // tabs submitting at once cannot both set the password.
    if (!(await lockUser(client, user.id))) return { set: false, reason: 'link_invalid' };
    const locked = await getOpenEnrollment(client, hashEnrollmentToken(token), true);
    if (!locked || locked.id !== enrollment.id || locked.password_set_at) return { set: false, reason: 'link_invalid' };
    await setPasswordHash(client, user.id, passwordHash);
    await markPasswordSet(client, enrollment.id);
    await recordAuditEvent(client, context, {
      action: 'enrollment.password_set',
      outcome: 'success',
      target: { type: 'user', id: user.id },
      details: { enrollmentId: enrollment.id },
    });
    return { set: true };
  });
}

export type ConfirmPasswordResult =
  | { confirmed: true }
  | { confirmed: false; reason: 'password_not_set' | 'wrong_password' | 'password_signin_disabled' }
  | { confirmed: false; reason: 'rate_limited'; retryAfter: number };

/**
 * Resuming: the password chosen in step 1 is confirmed before the key step may follow.
 * Its failures spend the username's unknown-devices budget, whatever device cookie the
 * browser holds: a link is for a browser that never finished signing in as this user, and a
 * stolen half-used link plus a guessed password would register the thief's key. So resume
 * and the sign-in form share one budget, as strict as before device cookies.
 */
export async function confirmEnrollmentPassword(
  { config, pool, hasher, signInThrottle }: Pick<Deps, 'config' | 'pool' | 'hasher' | 'signInThrottle'>,
  { enrollment, user, password, ip, context }: OpenEnrollment & { password: string; ip: string; context: AuditContext },
): Promise<ConfirmPasswordResult> {
  if (!enrollment.password_set_at) return { confirmed: false, reason: 'password_not_set' };
  if (!mayUsePassword(config, user)) return { confirmed: false, reason: 'password_signin_disabled' };
  // The same throttles as sign-in, before hashing: the link must not become a password oracle.
  const byIp = await signInThrottle.consumeIp(ip);
  if (!byIp.allowed) return { confirmed: false, reason: 'rate_limited', retryAfter: byIp.retryAfter };
  const attempt = await signInThrottle.takeAttempt(user.username, UNKNOWN_DEVICES);
  if (!attempt.allowed) return { confirmed: false, reason: 'rate_limited', retryAfter: attempt.retryAfter };
  let check: Awaited<ReturnType<typeof hasher.verify>>;
  try {
    check = await hasher.verify(user.password_hash, password);
  } catch (error) {
    // Never checked (server busy): not a failure, and this error is the one to answer with.
    await signInThrottle.giveBack(user.username, UNKNOWN_DEVICES).catch(() => undefined);
    throw error;
  }
  await recordAuditEvent(pool, context, {
    action: 'enrollment.resumed',
    outcome: check.ok ? 'success' : 'failure',
    target: { type: 'user', id: user.id },
    details: { enrollmentId: enrollment.id },
  });
  // A wrong password keeps the point it took; the right one gives it back.
  if (!check.ok) return { confirmed: false, reason: 'wrong_password' };
  await signInThrottle.giveBack(user.username, UNKNOWN_DEVICES);
  return { confirmed: true };
}

export type CompleteEnrollmentResult = { completed: true; key: KeyRow } | { completed: false; reason: RegistrationFailure | 'link_invalid' };

/** Thrown inside the key's transaction to roll it back: the link was used or revoked meanwhile. */
class LinkNoLongerOpen extends Error {
  override name = 'LinkNoLongerOpen';
}

/**
 * Step 2: registers the user's first security key against this session's challenge and
 * uses the link up, in one transaction with key.registered, enrollment.completed and
 * auth.signin. Signing the session in is the caller's part.
 */
export async function completeEnrollment(
  deps: Pick<Deps, 'pool' | 'config' | 'challenges' | 'fidoMetadata'>,
  { token, enrollment, user, ...registration }: OpenEnrollment & KeyRegistration & { token: string },
): Promise<CompleteEnrollmentResult> {
  try {
    const result = await registerKey(deps, {
      ...registration,
      user,
      onRegistered: async (client, key) => {
        // Under a row lock: the link is used exactly once even if two requests race here.
        const locked = await getOpenEnrollment(client, hashEnrollmentToken(token), true);
        if (!locked || locked.id !== enrollment.id) throw new LinkNoLongerOpen();
        await markKeyRegistered(client, enrollment.id);
        await markEnrollmentUsed(client, enrollment.id);
        const target = { type: 'user', id: user.id };
        return [
          { action: 'enrollment.completed', outcome: 'success', target, details: { enrollmentId: enrollment.id, keyId: key.id } },
          { action: 'auth.signin', outcome: 'success', target, details: { method: 'enrollment', keyId: key.id } },
        ];
      },
    });
    return result.registered ? { completed: true, key: result.key } : { completed: false, reason: result.reason };
  } catch (error) {
    if (error instanceof LinkNoLongerOpen) return { completed: false, reason: 'link_invalid' };
    throw error;
  }
}
