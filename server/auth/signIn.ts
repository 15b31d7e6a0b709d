import { deviceNonceFor } from './deviceCookie.ts';
import { ServerBusyError } from './hashLimiter.ts';
import { UNKNOWN_DEVICES, type DeviceBucket } from './signInThrottle.ts';
import { unknownUsernameDetails } from '../audit/attemptedUsername.ts';
import { recordAuditEvent, type AuditContext, type AuditInput } from '../audit/record.ts';
import type { Config } from '../config.ts';
import { withTransaction, type Pool } from '../db/pool.ts';
import { countActiveKeysForUser } from '../db/keys.ts';
import { getUserByUsername, setPasswordHash, type UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';

export type SignInOutcome =
  | { result: 'ok'; user: UserRow }
  | { result: 'throttled'; retryAfter: number }
  | { result: 'invalid' }
  | { result: 'password_signin_disabled' }
  | { result: 'disabled' }
  | { result: 'no_active_key'; user: UserRow };

/**
 * Whether an account may use a password as its first factor: always, unless
 * PASSWORD_SIGNIN=false; then only an admin named in BREAK_GLASS_ADMINS.
 */
export function mayUsePassword(config: Pick<Config, 'passwordSignIn'>, user: Pick<UserRow, 'username' | 'role'>): boolean {
  const { enabled, breakGlassAdmins } = config.passwordSignIn;
  return enabled || (user.role === 'admin' && breakGlassAdmins.includes(user.username.toLowerCase()));
}

/**
 * The password step of sign-in (the security-key step follows). Throttles are checked before
 * any hashing (Argon2 is a DoS surface); unknown users are verified against a dummy hash so
 * they cost the same time and get the same answer as a wrong password.
 * `deviceCookie` is this browser's device cookie, if any: a valid entry for this username
 * makes the attempt spend that device's own failure budget instead of the one shared by
 * unknown devices (server/auth/signInThrottle.ts).
 * With PASSWORD_SIGNIN=false every attempt still goes through the throttles and a hash, and
 * anything but a break-glass admin's right password answers `password_signin_disabled`: the
 * answer does not tell which accounts are break-glass ones, nor whether a password was right.
 */
export async function signInWithPassword(
  { config, pool, hasher, signInThrottle, log }: Pick<Deps, 'config' | 'pool' | 'hasher' | 'signInThrottle' | 'log'>,
  { username, password, ip, deviceCookie, context }: { username: string; password: string; ip: string; deviceCookie: string | null; context: AuditContext },
): Promise<SignInOutcome> {
  // Shed load first, before Redis, the failure budgets or the database, when the hash queue is
  // already full: in a flood most attempts end here, and each must cost as little as it can
  // (the event loop serves everyone else meanwhile). Nothing is hashed for them either way.
  if (hasher.limiter.full) throw new ServerBusyError('password hash queue full');
  const byIp = await signInThrottle.consumeIp(ip);
  if (!byIp.allowed) {
    log.warn({ ip, limiter: 'signin-ip' }, 'sign-in rate limited');
    // Audited once per window, when the limit trips: a flood must not become a flood of audit writes.
    if (byIp.firstRefusal) {
      await recordAuditEvent(pool, context, { action: 'auth.rate_limited', outcome: 'denied', details: { limiter: 'signin-ip', retryAfter: byIp.retryAfter } });
    }
    return { result: 'throttled', retryAfter: byIp.retryAfter };
  }

  // Checked again: the queue may have filled while the IP's count was taken.
  if (hasher.limiter.full) throw new ServerBusyError('password hash queue full');
  const nonce = deviceNonceFor({ secrets: config.sessionSecrets, cookie: deviceCookie, username });
  const bucket: DeviceBucket = nonce ? { device: 'known', nonce } : UNKNOWN_DEVICES;
  const attempt = await signInThrottle.takeAttempt(username, bucket);
  if (!attempt.allowed) {
    log.warn({ limiter: 'signin-username', device: bucket.device }, 'sign-in rate limited');
    return { result: 'throttled', retryAfter: attempt.retryAfter };
  }

  let user: UserRow | null;
  let check: Awaited<ReturnType<typeof hasher.verify>>;
  try {
    user = await getUserByUsername(pool, username);
    check = await hasher.verify(user?.password_hash ?? null, password);
  } catch (error) {
    // Not a failure of this password (server busy, database away): the attempt is not spent.
    // The error to answer with is this one, even if Redis cannot take the point back either.
    await signInThrottle.giveBack(username, bucket).catch(() => undefined);
    throw error;
  }
  const allowed = user !== null && mayUsePassword(config, user);

  if (!user || !check.ok || !allowed) {
    // The point taken above stays spent. A name that matches no account may be a password
    // typed into the wrong box: the log keeps only a keyed hash and the length, enough to see
    // the same name tried again.
    const attempted = user ? { username } : unknownUsernameDetails(config.sessionSecret, username);
    const reason = !user ? 'unknown_user' : !user.password_hash ? 'no_password_yet' : !check.ok ? 'bad_password' : 'password_signin_disabled';
    const failure: AuditInput = {
      action: 'auth.signin_failed',
      outcome: 'failure',
      target: user ? { type: 'user', id: user.id } : null,
      details: { ...attempted, reason, device: bucket.device },
    };
    // The failure that locks the bucket is the one worth an alarm; the refusals after it are not audited.
    const locking: AuditInput | null = attempt.lastInBudget
      ? {
          action: 'auth.rate_limited',
          outcome: 'denied',
          target: user ? { type: 'user', id: user.id } : null,
          details: { limiter: 'signin-username', bucket: bucket.device === 'known' ? 'this_device' : 'unknown_devices', ...attempted },
        }
      : null;
    await recordTogether(pool, context, locking ? [failure, locking] : [failure]);
    return config.passwordSignIn.enabled ? { result: 'invalid' } : { result: 'password_signin_disabled' };
  }

  // The right password is no failure: its point goes back to the budget.
  await signInThrottle.giveBack(username, bucket);
  if (user.status !== 'active') {
    await recordAuditEvent(pool, context, {
      action: 'auth.signin_failed',
      outcome: 'denied',
      target: { type: 'user', id: user.id },
      details: { username: user.username, reason: 'account_disabled' },
    });
    return { result: 'disabled' };
  }

  // Argon2 parameters changed since this hash was made: upgrade it now that we know the password.
  const newHash = check.needsRehash ? await hasher.hash(password) : null;
  const actor = { ...context, actor: { id: user.id, username: user.username } };
  const activeKeys = await countActiveKeysForUser(pool, user.id);
  // The password alone signs nobody in: the security-key step must follow.
  const verified: AuditInput = {
    action: activeKeys > 0 ? 'auth.password_verified' : 'auth.signin_failed',
    outcome: activeKeys > 0 ? 'success' : 'denied',
    target: { type: 'user', id: user.id },
    details: {
      ...(activeKeys > 0 ? {} : { reason: 'no_active_key' }),
      device: bucket.device,
      // A break-glass admin using the password while it is off for everyone else: worth seeing in the log.
      ...(config.passwordSignIn.enabled ? {} : { breakGlass: true }),
    },
  };
  if (newHash) {
    await withTransaction(pool, async (client) => {
      await setPasswordHash(client, user.id, newHash);
      await recordAuditEvent(client, actor, { action: 'user.password_rehashed', outcome: 'success', target: { type: 'user', id: user.id } });
      await recordAuditEvent(client, actor, verified);
    });
  } else {
    await recordAuditEvent(pool, actor, verified);
  }
  return activeKeys > 0 ? { result: 'ok', user } : { result: 'no_active_key', user };
}

/**
 * Events that change nothing else, in one commit: one alone is a standalone append (the node's
 * appender commits it with whatever else is waiting); several share one transaction.
 */
async function recordTogether(pool: Pool, context: AuditContext, events: readonly AuditInput[]): Promise<void> {
  if (events.length === 1) {
    await recordAuditEvent(pool, context, events[0]!);
    return;
  }
  await withTransaction(pool, async (client) => {
    for (const event of events) await recordAuditEvent(client, context, event);
  });
}
