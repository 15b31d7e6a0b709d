import { ServerBusyError } from './hashLimiter.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { withTransaction } from '../db/pool.ts';
import { countActiveKeysForUser } from '../db/keys.ts';
import { getUserByUsername, setPasswordHash, type UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';

export type SignInOutcome =
  | { result: 'ok'; user: UserRow }
  | { result: 'throttled'; retryAfter: number }
  | { result: 'invalid' }
  | { result: 'disabled' }
  | { result: 'no_active_key'; user: UserRow };

/**
 * The password step of sign-in (the security-key step follows). Throttles are checked before any hashing (Argon2 is a
 * DoS surface); unknown users are verified against a dummy hash so they cost the same
 * time and get the same answer as a wrong password.
 */
export async function signInWithPassword(
  { pool, hasher, signInThrottle, log }: Pick<Deps, 'pool' | 'hasher' | 'signInThrottle' | 'log'>,
  { username, password, ip, context }: { username: string; password: string; ip: string; context: AuditContext },
): Promise<SignInOutcome> {
  const byIp = await signInThrottle.consumeIp(ip);
  if (!byIp.allowed) {
    log.warn({ ip, limiter: 'signin-ip' }, 'sign-in rate limited');
    // Audited once per window, when the limit trips: a flood must not become a flood of audit writes.
    if (byIp.firstRefusal) {
      await recordAuditEvent(pool, context, { action: 'auth.rate_limited', outcome: 'denied', details: { limiter: 'signin-ip', retryAfter: byIp.retryAfter } });
    }
    return { result: 'throttled', retryAfter: byIp.retryAfter };
  }
  const byUsername = await signInThrottle.checkUsername(username);
  if (!byUsername.allowed) {
    log.warn({ limiter: 'signin-username' }, 'sign-in rate limited');
    return { result: 'throttled', retryAfter: byUsername.retryAfter };
  }

  // Shed load before touching the database when the hash queue is already full.
  if (hasher.limiter.full) throw new ServerBusyError('password hash queue full');
  const user = await getUserByUsername(pool, username);
  const check = await hasher.verify(user?.password_hash ?? null, password);

  if (!user || !check.ok) {
    const { locked } = await signInThrottle.recordFailure(username);
    await withTransaction(pool, async (client) => {
      await recordAuditEvent(client, context, {
        action: 'auth.signin_failed',
        outcome: 'failure',
        target: user ? { type: 'user', id: user.id } : null,
        details: { username, reason: user ? (user.password_hash ? 'bad_password' : 'no_password_yet') : 'unknown_user' },
      });
      // The failure that locks the username is the one worth an alarm; the refusals after it are not audited.
      if (locked) {
        await recordAuditEvent(client, context, {
          action: 'auth.rate_limited',
          outcome: 'denied',
          target: user ? { type: 'user', id: user.id } : null,
          details: { limiter: 'signin-username', username },
        });
      }
    });
    return { result: 'invalid' };
  }

  if (user.status !== 'active') {
    await recordAuditEvent(pool, context, {
      action: 'auth.signin_failed',
      outcome: 'denied',
      target: { type: 'user', id: user.id },
      details: { username: user.username, reason: 'account_disabled' },
    });
    return { result: 'disabled' };
  }

  await signInThrottle.clearFailures(username);
  // Argon2 parameters changed since this hash was made: upgrade it now that we know the password.
  const newHash = check.needsRehash ? await hasher.hash(password) : null;
  const actor = { ...context, actor: { id: user.id, username: user.username } };
  const activeKeys = await countActiveKeysForUser(pool, user.id);
  await withTransaction(pool, async (client) => {
    if (newHash) {
      await setPasswordHash(client, user.id, newHash);
      await recordAuditEvent(client, actor, { action: 'user.password_rehashed', outcome: 'success', target: { type: 'user', id: user.id } });
    }
    // The password alone signs nobody in: the security-key step must follow.
    await recordAuditEvent(client, actor, {
      action: activeKeys > 0 ? 'auth.password_verified' : 'auth.signin_failed',
      outcome: activeKeys > 0 ? 'success' : 'denied',
      target: { type: 'user', id: user.id },
      details: activeKeys > 0 ? {} : { reason: 'no_active_key' },
    });
  });
  return activeKeys > 0 ? { result: 'ok', user } : { result: 'no_active_key', user };
}
