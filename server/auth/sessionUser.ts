import type { NextFunction, Request, Response } from 'express';
import { getUserById, type UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import { HttpError } from '../http/errors.ts';
import { headerText, truncateText } from '../http/headerText.ts';
import './sessionData.ts';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      requestId: string;
      /** The fully signed-in user of this request's session, or null. */
      user?: UserRow | null;
      /** Set when this request's session was ended (expired, user disabled). */
      sessionEnded?: boolean;
    }
  }
}

export function destroySession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
}

export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
}

export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
}

/** When this session ends at the latest: idle expiry or absolute lifetime, whichever is first. */
export function sessionExpiresAt(req: Request, maxHours: number): Date {
  const idle = req.session.cookie.expires ?? new Date(Date.now() + (req.session.cookie.maxAge ?? 0));
  const absolute = new Date((req.session.signedInAt ?? Date.now()) + maxHours * 3_600_000);
  return idle < absolute ? idle : absolute;
}

/**
 * Moves this browser into a pending stage of sign-in or enrollment, under a new session id.
 * A pending session can do nothing but finish (or abandon) its key step.
 */
export async function beginPendingStage(
  req: Request,
  { userId, stage, enrollmentId, oidc }: { userId: string; stage: 'needs_key' | 'enrolling' | 'first_key'; enrollmentId?: string; oidc?: { sid: string | null } },
): Promise<void> {
  await regenerateSession(req);
  req.session.userId = userId;
  req.session.stage = stage;
  req.session.stageStartedAt = Date.now();
  if (enrollmentId) req.session.enrollmentId = enrollmentId;
  if (oidc) req.session.oidc = oidc;
  await saveSession(req);
}

/**
 * Completes sign-in after a verified security-key assertion: a new session id (fixation),
 * the key it was made with (so suspending the key ends this session), and a fresh step-up.
 */
export async function completeSignIn(
  req: Request,
  { userId, keyId, method }: { userId: string; keyId: string; method?: 'password_and_key' | 'enrollment' | 'oidc_first_key' },
): Promise<void> {
  // A company sign-in's provider session goes with it, for back-channel logout (issue #20).
  const oidc = req.session.oidc;
  await regenerateSession(req);
  const now = Date.now();
  Object.assign(req.session, {
    userId,
    stage: 'full',
    stageStartedAt: now,
    signedInAt: now,
    stepUpAt: now,
    keyId,
    signInMethod: method ?? (oidc ? 'oidc_and_key' : 'password_and_key'),
    ...(oidc ? { oidc } : {}),
    ip: req.ip ?? '',
    userAgent: truncateText(headerText(req.get('user-agent')) ?? '', 256),
  });
  await saveSession(req);
}

/** The user id of a session in the given pending stage, or a WRONG_STEP error. */
export function pendingUserId(req: Request, stage: 'needs_key' | 'enrolling'): string {
  if (req.session.stage !== stage || !req.session.userId) {
    throw new HttpError(409, 'WRONG_STEP', stage === 'needs_key' ? 'Sign in with your password first (or again: it may have expired).' : 'Choose or confirm your password first.');
  }
  return req.session.userId;
}

/**
 * How long a session cookie may go without being sent again: the browser's copy of the idle
 * timeout (its Expires) is renewed when a request finds it older than this, not on every
 * response (express-session's `rolling`, which signs and sends the cookie each time). Redis's
 * TTL, which is what ends an idle session, is still pushed forward by every request; the browser
 * may drop its cookie up to this much before it. A tenth of the idle timeout, at most a minute.
 */
export function cookieRefreshMs(idleMinutes: number): number {
  return Math.min(60_000, idleMinutes * 6_000);
}

/**
 * Renews the cookie of a stored session whose copy in the browser was issued `refreshMs` ago or
 * more (a stored session's cookie was last sent when it was last saved: express-session sends it
 * with every change). Setting `cookieRefreshedAt` is that change: the session is saved, and the
 * cookie sent, as this request ends. It is pushed forward now, so what the handler reads
 * (sessionExpiresAt) is what the browser will hold.
 */
export function refreshCookieWhenDue(req: Request, refreshMs: number): void {
  // No session at all while the store is not connected (express-session then passes the request on without one).
  if (!req.session) return;
  const { expires, originalMaxAge } = req.session.cookie;
  if (!expires || typeof originalMaxAge !== 'number') return;
  const now = Date.now();
  if (now - (expires.getTime() - originalMaxAge) < refreshMs) return;
  req.session.cookieRefreshedAt = now;
  req.session.touch();
}

/**
 * Resolves the session's user on every request, from Postgres or from the node's row cache
 * (which every change to the row clears through Postgres's NOTIFY), so a disabled user or a
 * changed role takes effect at once on every node.
 * Pending stages (key step not done yet) expire after a few minutes.
 */
export function sessionUser({ pool, config, rows }: Pick<Deps, 'pool' | 'config' | 'rows'>) {
  const maxAgeMs = config.session.maxHours * 3_600_000;
  const pendingMs = config.webauthn.keyStepMinutes * 60_000;
  return async (req: Request, _res: Response, next: NextFunction) => {
    req.user = null;
    const { userId, stage, signedInAt, stageStartedAt } = req.session;
    if (!userId) return next();
    const user: UserRow | null = await rows.users.get(userId, (id) => getUserById(pool, id));
    const expired =
      stage === 'full'
        ? signedInAt === undefined || Date.now() - signedInAt > maxAgeMs
        : stageStartedAt === undefined || Date.now() - stageStartedAt > pendingMs;
    if (expired || !user || user.status !== 'active') {
      // Regenerate rather than destroy: the old session is gone from the store, and the
      // request carries on with a fresh, empty one (never saved unless something is set).
      await regenerateSession(req);
      req.sessionEnded = true;
      return next();
    }
    if (stage === 'full') req.user = user;
    next();
  };
}
