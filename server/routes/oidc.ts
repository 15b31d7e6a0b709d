/**
 * Company sign-in (OpenID Connect, issue #20), over HTTP:
 * - GET /api/auth/oidc/start → the provider (authorization code, PKCE S256, state, nonce);
 * - GET /api/auth/oidc/callback ← the provider; validated, then the browser goes back to the
 *   sign-in page in the same "needs key" state a correct password leaves, or with an error code;
 * - GET /api/auth/oidc/step, POST /api/auth/oidc/first-key{/options}: what comes next, and the
 *   first key of a user with none;
 * - POST/DELETE /api/admin/users/:id/company-sign-in: an admin allows linking, or unlinks;
 * - POST /api/auth/oidc/backchannel-logout: Back-Channel Logout 1.0, for the provider itself
 *   (form-encoded, no session, no Origin: mounted outside the API router's CSRF guard).
 * The provider's word alone never signs anyone in: the user's own key always follows.
 */
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { CompanySignInStep, FirstKeyResponse, WebAuthnOptionsResponse } from '../../shared/api.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { beginPendingStage, completeSignIn, destroySession, saveSession } from '../auth/sessionUser.ts';
import { allowLink, countIdentitiesOfUser, deleteIdentitiesOfUser } from '../db/identities.ts';
import { getKeysForUser } from '../db/keys.ts';
import { withTransaction } from '../db/pool.ts';
import { getUserById, lockUser, toPublicUser, type UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import { HttpError, isDependencyDown, notFound, toErrorResponse } from '../http/errors.ts';
import { auditContextOf, defineRoute, responds } from '../http/route.ts';
import { consumeRouteLimit } from '../http/routeLimit.ts';
import { registrationError } from '../keys/errors.ts';
import { issueRegistrationOptions } from '../keys/issueOptions.ts';
import { backchannelLogout } from '../oidc/backchannelLogout.ts';
import type { OidcRelyingParty, OidcFlow, CallbackFailure } from '../oidc/relyingParty.ts';
import { registerFirstKey } from '../oidc/registerFirstKey.ts';
import { signInWithProvider, type ProviderSignInRefusal } from '../oidc/signInWithProvider.ts';
import { KeyRegistrationBody } from '../webauthn/schemas.ts';

declare module 'express-session' {
  interface SessionData {
    /** A company sign-in this browser started and the provider has not answered yet (single use). */
    oidcFlow: OidcFlow;
  }
}

/** Where the provider's answer sends the browser: the SPA's sign-in page, which carries on from there. */
const SIGN_IN_PAGE = '/signin';

/** Where to go once signed in: only a path inside the app (the rule of client/pages/SignIn.tsx). */
function inAppPath(next: string | undefined): string | null {
  if (!next || next.length > 512) return null;
  return /^\/(?![/\\])[^\\\s\x00-\x1f]*$/.test(next) && !next.startsWith('/signin') ? next : null;
}

function notConfigured(): HttpError {
  return new HttpError(404, 'OIDC_NOT_CONFIGURED', 'Company sign-in is not configured on this server.');
}

function relyingPartyOf(deps: Deps): OidcRelyingParty {
  if (!deps.oidc) throw notConfigured();
  return deps.oidc;
}

/** The stable code the sign-in page shows for each refusal (client/pages/signin/companySignInErrors.ts words them). */
const CALLBACK_CODES = {
  state_invalid: 'OIDC_STATE_INVALID',
  provider_error: 'OIDC_PROVIDER_ERROR',
  token_invalid: 'OIDC_TOKEN_INVALID',
  unavailable: 'OIDC_UNAVAILABLE',
} as const satisfies Record<CallbackFailure, ErrorCode>;

const REFUSAL_CODES = {
  no_account: 'OIDC_NO_ACCOUNT',
  link_allowance_expired: 'OIDC_LINK_EXPIRED',
  username_missing: 'OIDC_USERNAME_INVALID',
  username_invalid: 'OIDC_USERNAME_INVALID',
  username_taken: 'OIDC_USERNAME_TAKEN',
  account_disabled: 'ACCOUNT_DISABLED',
  no_active_key: 'NO_ACTIVE_KEY',
  key_pending_approval: 'KEY_PENDING_APPROVAL',
} as const satisfies Record<ProviderSignInRefusal, ErrorCode>;

/** Back to the sign-in page with a stable code; never a token, never the provider's own words. */
function toSignInPage(res: Response, params: Record<string, string>): void {
  res.setHeader('Cache-Control', 'no-store');
  res.redirect(303, `${SIGN_IN_PAGE}?${new URLSearchParams(params).toString()}`);
}

/** The raw query string of a request, as the provider sent it (openid-client parses it itself). */
function rawQuery(req: Request): string {
  const at = req.originalUrl.indexOf('?');
  return at === -1 ? '' : req.originalUrl.slice(at);
}

/**
 * The callback: the flow this browser started is taken out of its session first (so an
 * answer is used once, whatever follows), the answer validated, the account resolved, then
 * the browser goes back to the sign-in page for its key step.
 */
async function handleCallback(req: Request, res: Response, deps: Deps, audit: AuditContext): Promise<void> {
  const relyingParty = relyingPartyOf(deps);
  const refuse = async (code: ErrorCode, reason: string, detail?: string) => {
    deps.log.info({ reason, detail }, 'company sign-in refused');
    await recordAuditEvent(deps.pool, audit, { action: 'auth.oidc_failed', outcome: 'failure', details: { reason } });
    toSignInPage(res, { oidc_error: code });
  };
  const flow = req.session.oidcFlow;
  if (flow) {
    delete req.session.oidcFlow;
    await saveSession(req);
  }
  if (!flow) return refuse('OIDC_STATE_INVALID', 'no_sign_in_started');
  const answer = await relyingParty.completeAuthorization(rawQuery(req), flow);
  if (!answer.ok) return refuse(CALLBACK_CODES[answer.reason], answer.reason, answer.detail);

  const outcome = await signInWithProvider(deps, { config: relyingParty.config, claims: answer.claims, context: audit });
  if (outcome.result === 'refused') return toSignInPage(res, { oidc_error: REFUSAL_CODES[outcome.reason] });
  const providerSid = typeof answer.claims.sid === 'string' ? answer.claims.sid.slice(0, 255) : null;
  // The same pending state a correct password leaves (a new session id), or the first-key step.
  await beginPendingStage(req, { userId: outcome.user.id, stage: outcome.result === 'first_key' ? 'first_key' : 'needs_key', oidc: { sid: providerSid } });
  toSignInPage(res, { oidc: 'continue', ...(flow.next ? { next: flow.next } : {}) });
}

/** The user of a session in the first-key stage, or WRONG_STEP. */
async function firstKeyUser(req: Request, deps: Deps): Promise<UserRow> {
  const user = req.session.stage === 'first_key' && req.session.userId ? await getUserById(deps.pool, req.session.userId) : null;
  if (!user) throw new HttpError(409, 'WRONG_STEP', 'Sign in with your company account first (or again: it may have expired).');
  return user;
}

const ADMIN = ['admin'] as const;
const UserIdParams = z.strictObject({ id: z.uuid('not a user id') });

export const oidcRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/auth/oidc/start',
    access: 'public',
    summary: "Company sign-in, step 1: redirects to the provider (authorization code with PKCE, state and nonce). The user's key step follows its answer.",
    query: z.strictObject({ next: z.string().max(2048).optional() }),
    // Per address: a company's users may share one egress address (ROUTE_RATE_LIMIT_FACTOR raises it).
    rateLimit: { name: 'oidc-start', points: 120, windowSeconds: 60 },
    async handler({ req, res, query, deps }) {
      const relyingParty = relyingPartyOf(deps);
      let request: Awaited<ReturnType<OidcRelyingParty['authorizationRequest']>>;
      try {
        request = await relyingParty.authorizationRequest(inAppPath(query.next));
      } catch {
        // Logged by the relying party; the person sees a plain message, and passwords still work.
        toSignInPage(res, { oidc_error: 'OIDC_UNAVAILABLE' });
        return {};
      }
      // One flow per browser at a time: a second start replaces the first, whose answer is then refused.
      req.session.oidcFlow = request.flow;
      await saveSession(req);
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(303, request.url.href);
      return {};
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/auth/oidc/callback',
    access: 'public',
    summary: "Company sign-in, step 2: the provider's answer (its redirect URI). Validated, then back to the sign-in page for the security key, or with an error code.",
    // Whatever the provider adds (code, state, iss, session_state …); openid-client reads the raw query.
    query: z.record(z.string().max(64), z.string().max(8192)),
    rateLimit: { name: 'oidc-callback', points: 120, windowSeconds: 60 },
    async handler({ req, res, deps, audit }) {
      try {
        await handleCallback(req, res, deps, audit);
      } catch (error) {
        if (error instanceof HttpError && error.code === 'OIDC_NOT_CONFIGURED') throw error;
        // Never a 500 page in the middle of a sign-in: the sign-in page says what went wrong.
        const { body } = toErrorResponse(error, req.requestId);
        deps.log[isDependencyDown(error) ? 'warn' : 'error']({ err: (error as Error).message }, 'company sign-in callback failed');
        if (!res.headersSent) toSignInPage(res, { oidc_error: body.error.code });
      }
      return {};
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/auth/oidc/step',
    access: 'public',
    summary: 'Where a company sign-in stands in this browser: the key step, a first key to register, or none.',
    response: responds<CompanySignInStep>(),
    async handler({ req, deps }) {
      const stage = req.session.stage;
      const pending = (stage === 'needs_key' && req.session.oidc) || stage === 'first_key';
      const user = pending && req.session.userId ? await getUserById(deps.pool, req.session.userId) : null;
      const body: CompanySignInStep = user
        ? {
            step: stage === 'first_key' ? 'register_key' : 'security_key',
            username: user.username,
            displayName: user.display_name,
            firstKeyNeedsApproval: deps.oidc?.config.firstKey === 'approval',
          }
        : { step: 'none' };
      return { body };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/auth/oidc/first-key/options',
    access: 'public',
    summary: 'Company sign-in of a user with no key: WebAuthn creation options for their first security key.',
    response: responds<WebAuthnOptionsResponse>(),
    rateLimit: { name: 'oidc-first-key-options', points: 30, windowSeconds: 60 },
    async handler({ req, deps, audit }) {
      const user = await firstKeyUser(req, deps);
      const body = await issueRegistrationOptions(deps, {
        sessionId: req.sessionID,
        user: { id: user.id, username: user.username, displayName: user.display_name },
        existingKeys: await getKeysForUser(deps.pool, user.id),
        via: 'enrollment',
        context: { ...audit, actor: { id: user.id, username: user.username } },
      });
      return { body };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/auth/oidc/first-key',
    access: 'public',
    summary:
      'Company sign-in of a user with no key: register the first security key. OIDC_FIRST_KEY=self signs in; approval leaves the key waiting for an admin.',
    response: responds<FirstKeyResponse>(),
    body: KeyRegistrationBody,
    async handler({ req, body, deps, audit }) {
      const user = await firstKeyUser(req, deps);
      const approvalRequired = relyingPartyOf(deps).config.firstKey === 'approval';
      const result = await registerFirstKey(deps, {
        sessionId: req.sessionID,
        user,
        approvalRequired,
        response: body.response,
        nickname: body.nickname,
        hid: body.hid,
        context: { ...audit, actor: { id: user.id, username: user.username } },
      });
      if (!result.registered) {
        if (result.reason === 'has_key') throw new HttpError(409, 'WRONG_STEP', 'This account has a security key already: sign in again and use it.');
        throw registrationError(result.reason);
      }
      if (result.approvalRequired) {
        // Nothing more this browser can do until an admin approves the key.
        await destroySession(req);
        const waiting: FirstKeyResponse = { next: 'awaiting_approval' };
        return { body: waiting };
      }
      await completeSignIn(req, { userId: user.id, keyId: result.key.id, method: 'oidc_first_key' });
      const done: FirstKeyResponse = { next: 'done', user: toPublicUser(user) };
      return { body: done };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/admin/users/:id/company-sign-in',
    access: ADMIN,
    summary: "Allow the next company sign-in under this user's username to link to the account (used up by that sign-in; expires after OIDC_LINK_ALLOWANCE_HOURS).",
    stepUp: true,
    params: UserIdParams,
    async handler({ params, user: admin, deps, audit }) {
      const { config } = relyingPartyOf(deps);
      const allowed = await withTransaction(deps.pool, async (client) => {
        const target = await lockUser(client, params.id);
        if (!target) return null;
        const { expiresAt } = await allowLink(client, target.id, admin.id, config.linkAllowanceHours);
        await recordAuditEvent(client, audit, {
          action: 'user.company_signin_allowed',
          outcome: 'success',
          target: { type: 'user', id: target.id },
          details: { username: target.username, alreadyLinked: (await countIdentitiesOfUser(client, target.id)) > 0, expiresAt: expiresAt.toISOString() },
        });
        return target;
      });
      if (!allowed) throw notFound('No such user.');
      return {};
    },
  }),

  defineRoute({
    method: 'delete',
    path: '/api/admin/users/:id/company-sign-in',
    access: ADMIN,
    summary: "Remove a user's company sign-in: linked identities and any allowance. Sessions that began with it end.",
    stepUp: true,
    params: UserIdParams,
    async handler({ params, deps, audit }) {
      relyingPartyOf(deps);
      const removed = await withTransaction(deps.pool, async (client) => {
        const target = await lockUser(client, params.id);
        if (!target) return null;
        const gone = await deleteIdentitiesOfUser(client, target.id);
        if (gone.identities > 0 || gone.allowance) {
          await recordAuditEvent(client, audit, {
            action: 'user.identity_unlinked',
            outcome: 'success',
            target: { type: 'user', id: target.id },
            details: { username: target.username, identities: gone.identities, allowanceRemoved: gone.allowance },
          });
        }
        return target;
      });
      if (!removed) throw notFound('No such user.');
      // The company identity vouched for these sessions' first step: they end with it, grants first.
      for (const { sid, data } of await deps.sessions.sessionsForUser(removed.id)) {
        if (!data.oidc) continue;
        await deps.grants.endForSession(sid, 'admin_revoked', audit);
        await deps.sessions.destroyOne(sid);
      }
      return {};
    },
  }),
];

/** How often one address may post logout tokens (a provider sends one per session ended). */
const BACKCHANNEL_LIMIT = { name: 'oidc-backchannel', points: 120, windowSeconds: 60 };

/** The error body of the back-channel endpoint (Back-Channel Logout 1.0 §2.8: 400 on failure). */
function backchannelError(res: Response, status: number, code: ErrorCode, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/**
 * POST /api/auth/oidc/backchannel-logout, for the provider: a form-encoded `logout_token`, no
 * cookie, no Origin (so it sits outside the API router and its CSRF guard, like /healthz).
 * Answers 200 with no body when the token was accepted, 400 with a stable code when not.
 */
export function oidcBackchannelRoute(deps: Deps): Router {
  const router = express.Router();
  router.post('/api/auth/oidc/backchannel-logout', express.urlencoded({ extended: false, limit: 16 * 1024, parameterLimit: 10 }), async (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    try {
      if (!deps.oidc) return backchannelError(res, 404, 'OIDC_NOT_CONFIGURED', 'Company sign-in is not configured on this server.');
      await consumeRouteLimit(deps, BACKCHANNEL_LIMIT, `ip:${req.ip ?? 'unknown'}`);
      const token: unknown = req.is('application/x-www-form-urlencoded') ? (req.body as Record<string, unknown> | undefined)?.logout_token : undefined;
      // A JWS in compact form: three base64url parts, bounded.
      if (typeof token !== 'string' || token.length > 8192 || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) {
        return backchannelError(res, 400, 'LOGOUT_TOKEN_INVALID', 'Send a logout_token (a signed JWT) as application/x-www-form-urlencoded.');
      }
      const result = await backchannelLogout(deps, { relyingParty: deps.oidc, token, context: auditContextOf(req, null) });
      if (result.accepted) return void res.status(200).end();
      if (result.reason === 'replayed') return backchannelError(res, 400, 'LOGOUT_TOKEN_REPLAYED', 'This logout token was used already.');
      return backchannelError(res, 400, 'LOGOUT_TOKEN_INVALID', 'The logout token did not validate.');
    } catch (error) {
      next(error);
    }
  });
  return router;
}
