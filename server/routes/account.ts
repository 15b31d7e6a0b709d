import { z } from 'zod';
import type { KeyListResponse, KeyResponse, SessionListResponse, StepUpStatus, WebAuthnOptionsResponse } from '../../shared/api.ts';
import { recordAuditEvent } from '../audit/record.ts';
import { stepUpValidUntil } from '../auth/stepUp.ts';
import { sessionHandle } from '../auth/sessionStore.ts';
import { saveSession } from '../auth/sessionUser.ts';
import { getActiveKeysForUser, getKeysForUser, isSynced, toKeyView } from '../db/keys.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { defineRoute, responds } from '../http/route.ts';
import { assertionError, registrationError } from '../keys/errors.ts';
import { removeOwnKey, renameOwnKey } from '../keys/manageKeys.ts';
import { registerKey } from '../keys/registerKey.ts';
import { verifyKeyAssertion } from '../keys/verifyKeyAssertion.ts';
import { issueAssertionOptions, issueRegistrationOptions } from '../keys/issueOptions.ts';
import { AuthenticationResponseSchema, KeyRegistrationBody, Nickname } from '../webauthn/schemas.ts';

const KeyParams = z.strictObject({ id: z.uuid('not a key id') });
const SessionParams = z.strictObject({ id: z.string().max(32).regex(/^[0-9a-f]{32}$/, 'not a session id') });

export const accountRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/account/keys',
    access: 'signed-in',
    summary: "The signed-in user's security keys.",
    response: responds<KeyListResponse>(),
    async handler({ user, deps }) {
      return { body: { keys: (await getKeysForUser(deps.pool, user.id)).map(toKeyView), nextCursor: null } };
    },
  }),

  defineRoute({
    method: 'patch',
    path: '/api/account/keys/:id',
    access: 'signed-in',
    summary: 'Rename one of your keys.',
    response: responds<KeyResponse>(),
    params: KeyParams,
    body: z.strictObject({ nickname: Nickname }),
    async handler({ user, params, body, deps, audit }) {
      const result = await renameOwnKey(deps, { userId: user.id, keyId: params.id, nickname: body.nickname, context: audit });
      if (!result.changed || !result.key) throw notFound('No such key on your account.');
      return { body: { key: toKeyView(result.key) } };
    },
  }),

  defineRoute({
    method: 'delete',
    path: '/api/account/keys/:id',
    access: 'signed-in',
    summary: 'Remove one of your keys (never the last active one). Needs a fresh assertion.',
    stepUp: true,
    params: KeyParams,
    async handler({ req, user, params, deps, audit }) {
      const result = await removeOwnKey(deps, { userId: user.id, keyId: params.id, context: audit, currentSessionId: req.sessionID });
      if (!result.changed && result.reason === 'last_key') throw new HttpError(409, 'LAST_KEY', 'You cannot remove your last active key.');
      if (!result.changed) throw notFound('No such key on your account.');
      return {};
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/account/step-up',
    access: 'signed-in',
    summary: 'Whether a fresh security-key assertion is on record for this session.',
    response: responds<StepUpStatus>(),
    async handler({ req, deps }) {
      return { body: { validUntil: stepUpValidUntil(req, deps.config)?.toISOString() ?? null } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/account/step-up/options',
    access: 'signed-in',
    summary: 'WebAuthn request options to confirm a sensitive change with one of your keys.',
    response: responds<WebAuthnOptionsResponse>(),
    // Each call writes a challenge and an audit event.
    rateLimit: { name: 'step-up-options', points: 30, windowSeconds: 60 },
    async handler({ req, user, deps, audit }) {
      const keys = (await getActiveKeysForUser(deps.pool, user.id)).filter((key) => deps.config.webauthn.allowSyncedPasskeys || !isSynced(key));
      if (keys.length === 0) throw new HttpError(403, 'NO_ACTIVE_KEY', 'Your account has no active security key.');
      return { body: await issueAssertionOptions(deps, { sessionId: req.sessionID, ceremony: 'step-up', userId: user.id, keys, context: audit }) };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/account/step-up',
    access: 'signed-in',
    summary: 'Verify a fresh assertion from one of your own keys; allows sensitive changes for a few minutes.',
    response: responds<StepUpStatus>(),
    body: z.strictObject({ response: AuthenticationResponseSchema }),
    async handler({ req, user, body, deps, audit }) {
      const result = await verifyKeyAssertion(deps, {
        sessionId: req.sessionID,
        ceremony: 'step-up',
        expectedUserId: user.id,
        response: body.response,
        requireUserVerification: deps.config.webauthn.userVerification === 'required',
        allowSynced: deps.config.webauthn.allowSyncedPasskeys,
        context: audit,
        onVerified: (client, key, { proof }) =>
          recordAuditEvent(client, audit, { action: 'auth.step_up', outcome: 'success', target: { type: 'security_key', id: key.id }, details: { assertion: proof } }),
      });
      if (!result.verified) throw assertionError(result.reason);
      req.session.stepUpAt = Date.now();
      await saveSession(req);
      const status: StepUpStatus = { validUntil: stepUpValidUntil(req, deps.config)?.toISOString() ?? null };
      return { body: status };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/account/keys/options',
    access: 'signed-in',
    summary: 'WebAuthn creation options to add another key. Needs a fresh assertion with an existing key.',
    response: responds<WebAuthnOptionsResponse>(),
    stepUp: true,
    // Each call writes a challenge and an audit event.
    rateLimit: { name: 'key-options', points: 30, windowSeconds: 60 },
    async handler({ req, user, deps, audit }) {
      return { body: await issueRegistrationOptions(deps, {
        sessionId: req.sessionID,
        user: { id: user.id, username: user.username, displayName: user.display_name },
        existingKeys: await getKeysForUser(deps.pool, user.id),
        via: 'account',
        context: audit,
      }) };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/account/keys',
    access: 'signed-in',
    summary: 'Register another security key. Needs a fresh assertion with an existing key.',
    response: responds<KeyResponse>(),
    stepUp: true,
    body: KeyRegistrationBody,
    async handler({ req, user, body, deps, audit }) {
      const result = await registerKey(deps, {
        sessionId: req.sessionID,
        user,
        response: body.response,
        nickname: body.nickname,
        hid: body.hid,
        context: audit,
      });
      if (!result.registered) throw registrationError(result.reason);
      return { status: 201, body: { key: toKeyView(result.key) } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/account/sessions',
    access: 'signed-in',
    summary: 'Your live sessions on every device.',
    response: responds<SessionListResponse>(),
    async handler({ req, user, deps }) {
      const live = await deps.sessions.sessionsForUser(user.id);
      const keys = new Map((await getKeysForUser(deps.pool, user.id)).map((key) => [key.id, key.nickname]));
      return { body: {
        sessions: live
          .filter(({ data }) => data.stage === 'full')
          .map(({ sid, data }) => ({
            id: sessionHandle(sid),
            current: sid === req.sessionID,
            signedInAt: new Date(data.signedInAt ?? 0).toISOString(),
            ip: data.ip ?? null,
            userAgent: data.userAgent ?? null,
            keyNickname: (data.keyId && keys.get(data.keyId)) ?? null,
          }))
          .sort((a, b) => b.signedInAt.localeCompare(a.signedInAt)),
      } };
    },
  }),

  defineRoute({
    method: 'delete',
    path: '/api/account/sessions/:id',
    access: 'signed-in',
    summary: 'End one of your sessions. Ending another one than this needs a fresh step-up.',
    params: SessionParams,
    async handler({ req, user, params, deps, audit }) {
      // Ending this session is signing out; ending another one could lock the owner out of a
      // device from a stolen or unattended session, so it needs a touch of their key (G19).
      if (params.id !== sessionHandle(req.sessionID) && !stepUpValidUntil(req, deps.config)) {
        throw new HttpError(403, 'STEP_UP_REQUIRED', 'Touch your security key to confirm this change.');
      }
      const live = await deps.sessions.sessionsForUser(user.id);
      const match = live.find(({ sid }) => sessionHandle(sid) === params.id);
      if (!match) throw notFound('No such session.');
      // Queued with the change (the audit outbox): recorded even if Postgres is away right now.
      await deps.sessions.destroyOne(match.sid, (multi) =>
        deps.auditOutbox.queue(multi, audit, {
          action: 'auth.session_ended',
          outcome: 'success',
          target: { type: 'user', id: user.id },
          details: { session: params.id, by: 'owner' },
        }),
      );
      await deps.auditOutbox.drain();
      return {};
    },
  }),
];
