import { z } from 'zod';
import type { AdminGrantListResponse, GrantResponse, WebAuthnOptionsResponse } from '../../shared/api.ts';
import { CLIENT_REVOKE_REASONS, PRESENCE_MODES } from '../../shared/api.ts';
import { getActiveKeysForUser, isSynced } from '../db/keys.ts';
import { getEnabledModels } from '../db/models.ts';
import { toGrantView } from '../grants/grants.ts';
import { unlockModels, type UnlockFailure } from '../grants/unlockModels.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { defineRoute, responds } from '../http/route.ts';
import { ASSERTION_REFUSALS, refusalFor, type Refusal } from '../keys/errors.ts';
import { bindDetectedSerial } from '../detector/bindSerial.ts';
import { issueAssertionOptions } from '../keys/issueOptions.ts';
import { restrictedUnlockRefusal } from '../keys/hardwareKeyPolicy.ts';
import { AuthenticationResponseSchema, HidDeviceInfoSchema } from '../webauthn/schemas.ts';

const UNLOCK_REFUSALS = {
  ...ASSERTION_REFUSALS,
  no_restricted_models: [404, 'MODEL_NOT_FOUND', 'There are no restricted models to unlock.'],
  aaguid_not_allowed: [403, 'HARDWARE_KEY_REQUIRED', 'Restricted models unlock only with an approved hardware security key.'],
  not_attested: [403, 'KEY_NOT_ATTESTED', "Restricted models unlock only with a security key whose maker's attestation Argus verified (FIDO metadata). Register a certified hardware key."],
  synced_not_allowed: [403, 'HARDWARE_KEY_REQUIRED', 'Restricted models unlock only with an approved hardware security key.'],
  user_verification_required: [
    403,
    'USER_VERIFICATION_REQUIRED',
    'These models need your key to verify you (PIN or fingerprint). Set one up on your key and try again.',
  ],
} as const satisfies Record<UnlockFailure, Refusal>;

export const grantRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/verify-key-ownership/options',
    access: 'signed-in',
    summary: "Unlock step 1: WebAuthn request options for the user's own active hardware keys.",
    response: responds<WebAuthnOptionsResponse>(),
    // Each call writes a challenge and an audit event; renewals come minutes apart.
    rateLimit: { name: 'unlock-options', points: 60, windowSeconds: 60 },
    async handler({ req, user, deps, audit }) {
      const keys = (await getActiveKeysForUser(deps.pool, user.id)).filter((key) => !isSynced(key) && restrictedUnlockRefusal(deps.config, key) === null);
      if (keys.length === 0) throw new HttpError(403, 'HARDWARE_KEY_REQUIRED', 'Register a hardware security key to unlock restricted models.');
      const restricted = (await getEnabledModels(deps.pool)).filter((m) => m.tier === 'restricted');
      const userVerification = restricted.some((m) => m.requires_user_verification) ? 'required' : deps.config.webauthn.userVerification;
      return { body: await issueAssertionOptions(deps, { sessionId: req.sessionID, ceremony: 'ownership', userId: user.id, keys, userVerification, context: audit }) };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/verify-key-ownership',
    access: 'signed-in',
    summary: "Unlock step 2: a fresh assertion from the user's own key makes a short-lived grant for this session.",
    response: responds<GrantResponse>(),
    body: z.strictObject({ response: AuthenticationResponseSchema, presenceMode: z.enum(PRESENCE_MODES), device: HidDeviceInfoSchema.optional() }),
    async handler({ req, user, body, deps, audit }) {
      const result = await unlockModels(deps, {
        user,
        sessionId: req.sessionID,
        response: body.response,
        presenceMode: body.presenceMode,
        device: body.device,
        context: audit,
      });
      if (!result.unlocked) throw refusalFor(UNLOCK_REFUSALS, result.reason);
      // A detector seeing exactly one key now learns which credential it is (metadata only).
      await bindDetectedSerial(deps, { userId: user.id, keyId: result.grant.keyId, context: audit }).catch((error: unknown) =>
        deps.log.warn({ err: (error as Error).message }, 'detected serial not bound'),
      );
      return { body: { grant: toGrantView(result.grant) } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/grants/current',
    access: 'signed-in',
    summary: "This session's live grant, if any.",
    response: responds<GrantResponse>(),
    async handler({ req, deps }) {
      const grant = await deps.grants.forSession(req.sessionID);
      return { body: { grant: grant ? toGrantView(grant) : null } };
    },
  }),

  defineRoute({
    method: 'delete',
    path: '/api/grants/current',
    access: 'signed-in',
    summary: "End this session's grant (the key was removed, or the user locked). Can only take access away.",
    body: z.strictObject({ reason: z.enum(CLIENT_REVOKE_REASONS) }),
    async handler({ req, body, deps, audit }) {
      await deps.grants.endForSession(req.sessionID, body.reason, audit);
      return {};
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/admin/grants',
    access: ['admin'],
    summary: 'Every live grant.',
    response: responds<AdminGrantListResponse>(),
    async handler({ deps }) {
      const grants = await deps.grants.listLive();
      return {
        body: {
          grants: grants.map((grant) => ({ ...toGrantView(grant), userId: grant.userId, username: grant.username })),
        },
      };
    },
  }),

  defineRoute({
    method: 'delete',
    path: '/api/admin/grants/:id',
    access: ['admin'],
    summary: 'Revoke a grant now.',
    stepUp: true,
    params: z.strictObject({ id: z.uuid('not a grant id') }),
    async handler({ req, params, deps, audit }) {
      const ended = await deps.grants.end(params.id, 'admin_revoked', audit);
      if (!ended) throw notFound('No such live grant.');
      return {};
    },
  }),
];
