import type { NextFunction, Request, Response } from 'express';
import { getUserById, type UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';
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
 * Resolves the session's user on every request. The user row is read each time, so a
 * disabled user or a changed role takes effect on the very next request on every node.
 */
export function sessionUser({ pool, config }: Pick<Deps, 'pool' | 'config'>) {
  const maxAgeMs = config.session.maxHours * 3_600_000;
  return async (req: Request, _res: Response, next: NextFunction) => {
    req.user = null;
    const { userId, stage, signedInAt } = req.session;
    if (!userId) return next();
    const user: UserRow | null = await getUserById(pool, userId);
    const expired = signedInAt === undefined || Date.now() - signedInAt > maxAgeMs;
    if (expired || !user || user.status !== 'active') {
      await destroySession(req);
      req.sessionEnded = true;
      return next();
    }
    if (stage === 'full') req.user = user;
    next();
  };
}
