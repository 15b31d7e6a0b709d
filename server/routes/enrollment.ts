import type { Request } from 'express';
import { z } from 'zod';
import type { EnrollmentInfo, StepResponse, WebAuthnOptionsResponse } from '../../shared/api.ts';
import { PASSWORD_MAX_LENGTH } from '../../shared/api.ts';
import type { AuditContext } from '../audit/record.ts';
import { beginPendingStage, pendingUserId } from '../auth/sessionUser.ts';
import type { EnrollmentRow } from '../db/enrollments.ts';
import { getKeysForUser } from '../db/keys.ts';
import { toPublicUser, type UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import { HttpError, rateLimited } from '../http/errors.ts';
import { completeSignInOnKnownDevice } from './knownDevice.ts';
import { defineRoute, responds } from '../http/route.ts';
import { registrationError } from '../keys/errors.ts';
import { issueRegistrationOptions } from '../keys/issueOptions.ts';
import { completeEnrollment, confirmEnrollmentPassword, findOpenEnrollment, setEnrollmentPassword, type OpenEnrollment } from '../users/enrollment.ts';
import { KeyRegistrationBody } from '../webauthn/schemas.ts';

const TokenParams = z.strictObject({
  // 32 random bytes, base64url without padding.
  token: z.string().max(43).regex(/^[A-Za-z0-9_-]{43}$/, 'not an enrollment token'),
});

const PasswordBody = z.strictObject({ password: z.string().min(1, 'Enter a password.').max(PASSWORD_MAX_LENGTH * 4) });

// PASSWORD_SIGNIN=false: an enrollment link's password steps are for break-glass admins only (server/users/enrollment.ts).
const passwordSignInDisabled = () =>
  new HttpError(403, 'PASSWORD_SIGNIN_DISABLED', 'Password sign-in is turned off here. Sign in with your company account.');

const invalidLink = () =>
  new HttpError(404, 'ENROLLMENT_INVALID', 'This enrollment link is invalid, expired or already used. Ask an administrator for a new one.');

/** The open enrollment behind a token and its (active) user, or ENROLLMENT_INVALID. */
async function openEnrollment(deps: Deps, token: string): Promise<OpenEnrollment> {
  const open = await findOpenEnrollment(deps, token);
  if (!open) throw invalidLink();
  return open;
}

/** This browser must have done the password (or resume) step of this very enrollment. */
function requireEnrollingSession(req: Request, enrollment: EnrollmentRow): void {
  const userId = pendingUserId(req, 'enrolling');
  if (userId !== enrollment.user_id || req.session.enrollmentId !== enrollment.id) {
    throw new HttpError(409, 'WRONG_STEP', 'Choose or confirm your password first.');
  }
}

/** The password is chosen or confirmed: this browser may register the security key next. */
async function toKeyStep(req: Request, { enrollment, user }: OpenEnrollment): Promise<{ body: StepResponse }> {
  await beginPendingStage(req, { userId: user.id, stage: 'enrolling', enrollmentId: enrollment.id });
  return { body: { next: 'security_key' } };
}

function actorOf(audit: AuditContext, user: UserRow): AuditContext {
  return { ...audit, actor: { id: user.id, username: user.username } };
}

export const enrollmentRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/enrollment/:token',
    access: 'public',
    summary: 'What an enrollment link is for and which steps remain.',
    response: responds<EnrollmentInfo>(),
    params: TokenParams,
    async handler({ params, deps }) {
      const { enrollment, user } = await openEnrollment(deps, params.token);
      const passwordSet = enrollment.password_set_at !== null;
      const body: EnrollmentInfo = {
        username: user.username,
        displayName: user.display_name,
        expiresAt: enrollment.expires_at.toISOString(),
        remaining: passwordSet ? ['security_key'] : ['password', 'security_key'],
        resumable: passwordSet,
      };
      return { body };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/enrollment/:token/password',
    access: 'public',
    summary: 'Enrollment step 1: choose a password. The security-key step follows.',
    response: responds<StepResponse>(),
    params: TokenParams,
    body: PasswordBody,
    async handler({ req, params, body, deps, audit }) {
      const { enrollment, user } = await openEnrollment(deps, params.token);
      const result = await setEnrollmentPassword(deps, { token: params.token, enrollment, user, password: body.password, context: actorOf(audit, user) });
      if (!result.set && result.reason === 'password_already_set') throw new HttpError(409, 'WRONG_STEP', 'The password was already chosen: confirm it to continue.');
      if (!result.set && result.reason === 'weak_password') throw new HttpError(400, 'WEAK_PASSWORD', result.message);
      if (!result.set && result.reason === 'password_signin_disabled') throw passwordSignInDisabled();
      if (!result.set) throw invalidLink();
      return toKeyStep(req, { enrollment, user });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/enrollment/:token/resume',
    access: 'public',
    summary: 'Resume a half-finished enrollment: confirm the password chosen earlier.',
    response: responds<StepResponse>(),
    params: TokenParams,
    body: PasswordBody,
    async handler({ req, params, body, deps, audit }) {
      const { enrollment, user } = await openEnrollment(deps, params.token);
      const result = await confirmEnrollmentPassword(deps, { enrollment, user, password: body.password, ip: req.ip ?? 'unknown', context: actorOf(audit, user) });
      if (!result.confirmed && result.reason === 'password_not_set') throw new HttpError(409, 'WRONG_STEP', 'Choose a password first.');
      if (!result.confirmed && result.reason === 'password_signin_disabled') throw passwordSignInDisabled();
      if (!result.confirmed && result.reason === 'rate_limited') throw rateLimited(result.retryAfter, `Too many attempts. Try again in ${result.retryAfter} seconds.`);
      if (!result.confirmed) throw new HttpError(401, 'INVALID_CREDENTIALS', 'That is not the password chosen for this account.');
      return toKeyStep(req, { enrollment, user });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/enrollment/:token/key/options',
    access: 'public',
    summary: 'Enrollment step 2a: WebAuthn creation options for a new security key.',
    response: responds<WebAuthnOptionsResponse>(),
    params: TokenParams,
    async handler({ req, params, deps, audit }) {
      const { enrollment, user } = await openEnrollment(deps, params.token);
      requireEnrollingSession(req, enrollment);
      const response = await issueRegistrationOptions(deps, {
        sessionId: req.sessionID,
        user: { id: user.id, username: user.username, displayName: user.display_name },
        existingKeys: await getKeysForUser(deps.pool, user.id),
        via: 'enrollment',
        context: actorOf(audit, user),
      });
      return { body: response };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/enrollment/:token/key',
    access: 'public',
    summary: 'Enrollment step 2b: register the security key; completes enrollment and signs in.',
    response: responds<StepResponse>(),
    params: TokenParams,
    body: KeyRegistrationBody,
    async handler({ req, res, params, body, deps, audit }) {
      const { enrollment, user } = await openEnrollment(deps, params.token);
      requireEnrollingSession(req, enrollment);
      const result = await completeEnrollment(deps, {
        token: params.token,
        enrollment,
        user,
        sessionId: req.sessionID,
        response: body.response,
        nickname: body.nickname,
        hid: body.hid,
        context: actorOf(audit, user),
      });
      if (!result.completed) throw result.reason === 'link_invalid' ? invalidLink() : registrationError(result.reason);
      // Password and key, here: this browser is a known device for them, as after a sign-in.
      await completeSignInOnKnownDevice({ req, res, deps }, { username: user.username, userId: user.id, keyId: result.key.id, method: 'enrollment' });
      const response: StepResponse = { next: 'done', user: toPublicUser(user) };
      return { body: response };
    },
  }),
];
