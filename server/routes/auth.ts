import { z } from 'zod';
import type { SessionResponse, StepResponse } from '../../shared/api.ts';
import { recordAuditEvent } from '../audit/record.ts';
import { destroySession, regenerateSession, saveSession, sessionExpiresAt } from '../auth/sessionUser.ts';
import { signInWithPassword } from '../auth/signIn.ts';
import { withTransaction } from '../db/pool.ts';
import { toPublicUser } from '../db/users.ts';
import { HttpError, rateLimited } from '../http/errors.ts';
import { defineRoute } from '../http/route.ts';

const SignInBody = z.strictObject({
  username: z.string().trim().min(1, 'Enter your username.').max(64),
  // Bounded so an attacker cannot make each hash more expensive; the policy caps new ones at 256.
  password: z.string().min(1, 'Enter your password.').max(1024),
});

export const authRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/session',
    access: 'public',
    summary: 'The current session: who is signed in and until when.',
    async handler({ req, user, deps }) {
      const body: SessionResponse = user
        ? { signedIn: true, user: toPublicUser(user), expiresAt: sessionExpiresAt(req, deps.config.session.maxHours).toISOString() }
        : { signedIn: false };
      return { body };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/auth/signin',
    access: 'public',
    summary: 'Sign in with username and password.',
    body: SignInBody,
    async handler({ req, body, deps, audit }) {
      const outcome = await signInWithPassword(deps, { ...body, ip: req.ip ?? 'unknown', context: audit });
      switch (outcome.result) {
        case 'throttled':
          throw rateLimited(outcome.retryAfter, `Too many sign-in attempts. Try again in ${outcome.retryAfter} seconds.`);
        case 'invalid':
          throw new HttpError(401, 'INVALID_CREDENTIALS', 'Username or password is incorrect.');
        case 'disabled':
          throw new HttpError(403, 'ACCOUNT_DISABLED', 'This account is disabled. Contact an administrator.');
      }
      // A new session id at sign-in: a session id planted before sign-in is worthless after it.
      await regenerateSession(req);
      req.session.userId = outcome.user.id;
      req.session.stage = 'full';
      req.session.signedInAt = Date.now();
      await saveSession(req);
      const response: StepResponse = { next: 'done', user: toPublicUser(outcome.user) };
      return { body: response };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/auth/signout',
    access: 'public',
    summary: 'Sign out: the session is destroyed on the server.',
    async handler({ req, res, user, deps, audit }) {
      if (user) {
        await withTransaction(deps.pool, (client) =>
          recordAuditEvent(client, audit, { action: 'auth.signout', outcome: 'success', target: { type: 'user', id: user.id } }),
        );
      }
      await destroySession(req);
      res.clearCookie(SESSION_COOKIE, { path: '/' });
      return {};
    },
  }),
];

export const SESSION_COOKIE = 'argus.sid';
