import { z } from 'zod';
import type { SessionResponse, SignInMethodsResponse, SignOutResponse, StepResponse, WebAuthnOptionsResponse } from '../../shared/api.ts';
import { recordAuditEvent } from '../audit/record.ts';
import { cookieFromHeader, DEVICE_COOKIE } from '../auth/deviceCookie.ts';
import { beginPendingStage, destroySession, pendingUserId, sessionExpiresAt } from '../auth/sessionUser.ts';
import { signInWithPassword } from '../auth/signIn.ts';
import { getActiveKeysForUser, isSynced } from '../db/keys.ts';
import { getUserById, toPublicUser } from '../db/users.ts';
import { HttpError, rateLimited } from '../http/errors.ts';
import { defineRoute, responds } from '../http/route.ts';
import { assertionError } from '../keys/errors.ts';
import { verifyKeyAssertion } from '../keys/verifyKeyAssertion.ts';
import { issueAssertionOptions } from '../keys/issueOptions.ts';
import { AuthenticationResponseSchema } from '../webauthn/schemas.ts';
import { completeSignInOnKnownDevice } from './knownDevice.ts';

export const SESSION_COOKIE = 'argus.sid';

const SignInBody = z.strictObject({
  username: z.string().trim().min(1, 'Enter your username.').max(64),
  // Bounded so an attacker cannot make each hash more expensive; the policy caps new ones at 256.
  password: z.string().min(1, 'Enter your password.').max(1024),
});

const noActiveKey = () =>
  new HttpError(403, 'NO_ACTIVE_KEY', 'Your account has no active security key. Ask an administrator for a new enrollment link.');

export const authRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/session',
    access: 'public',
    summary: 'The current session: who is signed in and until when.',
    response: responds<SessionResponse>(),
    async handler({ req, user, deps }) {
      const body: SessionResponse = user
        ? { signedIn: true, user: toPublicUser(user), expiresAt: sessionExpiresAt(req, deps.config.session.maxHours).toISOString() }
        : { signedIn: false };
      return { body };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/auth/methods',
    access: 'public',
    summary: 'The first factors the sign-in page offers; the security-key step follows each.',
    response: responds<SignInMethodsResponse>(),
    async handler({ deps }) {
      const { passwordSignIn, oidc } = deps.config;
      const body: SignInMethodsResponse = { password: passwordSignIn.enabled, company: oidc ? { displayName: oidc.displayName } : null };
      return { body };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/auth/signin',
    access: 'public',
    summary: 'Sign-in step 1: username and password. The security-key step follows.',
    response: responds<StepResponse>(),
    body: SignInBody,
    async handler({ req, body, deps, audit }) {
      const deviceCookie = cookieFromHeader(req.headers.cookie, DEVICE_COOKIE);
      const outcome = await signInWithPassword(deps, { ...body, ip: req.ip ?? 'unknown', deviceCookie, context: audit });
      switch (outcome.result) {
        case 'throttled':
          throw rateLimited(outcome.retryAfter, `Too many sign-in attempts. Try again in ${outcome.retryAfter} seconds.`);
        case 'invalid':
          throw new HttpError(401, 'INVALID_CREDENTIALS', 'Username or password is incorrect.');
        case 'password_signin_disabled':
          throw new HttpError(403, 'PASSWORD_SIGNIN_DISABLED', 'Password sign-in is turned off here. Sign in with your company account.');
        case 'disabled':
          throw new HttpError(403, 'ACCOUNT_DISABLED', 'This account is disabled. Contact an administrator.');
        case 'no_active_key':
          throw noActiveKey();
      }
      // A new session id now, and another when the key step completes.
      await beginPendingStage(req, { userId: outcome.user.id, stage: 'needs_key' });
      const response: StepResponse = { next: 'security_key' };
      return { body: response };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/auth/key/options',
    access: 'public',
    summary: "Sign-in step 2a: WebAuthn request options for the user's active keys.",
    response: responds<WebAuthnOptionsResponse>(),
    async handler({ req, deps, audit }) {
      const userId = pendingUserId(req, 'needs_key');
      const keys = (await getActiveKeysForUser(deps.pool, userId)).filter((key) => deps.config.webauthn.allowSyncedPasskeys || !isSynced(key));
      if (keys.length === 0) throw noActiveKey();
      const response = await issueAssertionOptions(deps, { sessionId: req.sessionID, ceremony: 'signin', userId, keys, context: audit });
      return { body: response };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/auth/key',
    access: 'public',
    summary: "Sign-in step 2b: verify the assertion from one of the user's own keys; completes sign-in.",
    response: responds<StepResponse>(),
    body: z.strictObject({ response: AuthenticationResponseSchema }),
    async handler({ req, res, body, deps, audit }) {
      const userId = pendingUserId(req, 'needs_key');
      // The session's own user, as the session check just read it (the row cache, kept current by Postgres).
      const user = await deps.rows.users.get(userId, (id) => getUserById(deps.pool, id));
      if (!user) throw new HttpError(409, 'WRONG_STEP', 'Sign in with your password first.');
      const actor = { ...audit, actor: { id: user.id, username: user.username } };
      const result = await verifyKeyAssertion(deps, {
        sessionId: req.sessionID,
        ceremony: 'signin',
        expectedUserId: userId,
        response: body.response,
        requireUserVerification: deps.config.webauthn.userVerification === 'required',
        allowSynced: deps.config.webauthn.allowSyncedPasskeys,
        context: actor,
        onVerified: (client, key, { proof }) =>
          recordAuditEvent(client, actor, {
            action: 'auth.signin',
            outcome: 'success',
            target: { type: 'user', id: user.id },
            details: { method: req.session.oidc ? 'oidc+security_key' : 'password+security_key', keyId: key.id, assertion: proof },
          }),
      });
      if (!result.verified) throw assertionError(result.reason);
      // Signed in fully: this browser becomes a known device for this username.
      await completeSignInOnKnownDevice({ req, res, deps }, { username: user.username, userId: user.id, keyId: result.key.id });
      const response: StepResponse = { next: 'done', user: toPublicUser(user) };
      return { body: response };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/auth/signout',
    access: 'public',
    summary:
      "Sign out (or abandon a pending sign-in): the session is destroyed on the server. After a company sign-in, may answer the provider's end-session URL to visit (OIDC_POST_LOGOUT_REDIRECT).",
    response: responds<SignOutResponse>(),
    async handler({ req, res, user, deps, audit }) {
      // RP-initiated logout (issue #20): only for a session whose first step was the company's provider.
      const providerSignOutUrl = user && req.session.oidc && deps.oidc ? await deps.oidc.endSessionUrl() : null;
      if (user) {
        await deps.grants.endForSession(req.sessionID, 'signed_out', audit);
        await recordAuditEvent(deps.pool, audit, { action: 'auth.signout', outcome: 'success', target: { type: 'user', id: user.id } });
      }
      await destroySession(req);
      res.clearCookie(SESSION_COOKIE, { path: '/' });
      if (providerSignOutUrl) return { body: { providerSignOutUrl } satisfies SignOutResponse };
      return {};
    },
  }),
];
