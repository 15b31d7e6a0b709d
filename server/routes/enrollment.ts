import type { Request } from 'express';
import { z } from 'zod';
import type { EnrollmentInfo, StepResponse } from '../../shared/api.ts';
import { PASSWORD_MAX_LENGTH } from '../../shared/api.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { checkPassword } from '../auth/passwordPolicy.ts';
import { beginPendingStage, completeSignIn, pendingUserId } from '../auth/sessionUser.ts';
import { getOpenEnrollment, markEnrollmentUsed, markKeyRegistered, markPasswordSet, type EnrollmentRow } from '../db/enrollments.ts';
import { getKeysForUser } from '../db/keys.ts';
import { withTransaction } from '../db/pool.ts';
import { getUserById, setPasswordHash, toPublicUser, type UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import { HttpError, rateLimited } from '../http/errors.ts';
import { defineRoute } from '../http/route.ts';
import { registrationError } from '../keys/errors.ts';
import { registerKey } from '../keys/registerKey.ts';
import { hashEnrollmentToken } from '../users/enrollmentLink.ts';
import { issueRegistrationOptions } from '../keys/issueOptions.ts';
import { HidDeviceInfoSchema, Nickname, RegistrationResponseSchema } from '../webauthn/schemas.ts';

const TokenParams = z.strictObject({
  // 32 random bytes, base64url without padding.
  token: z.string().max(43).regex(/^[A-Za-z0-9_-]{43}$/, 'not an enrollment token'),
});

const PasswordBody = z.strictObject({ password: z.string().min(1, 'Enter a password.').max(PASSWORD_MAX_LENGTH * 4) });

const invalidLink = () =>
  new HttpError(404, 'ENROLLMENT_INVALID', 'This enrollment link is invalid, expired or already used. Ask an administrator for a new one.');

/** The open enrollment behind a token and its (active) user, or ENROLLMENT_INVALID. */
async function openEnrollment(deps: Deps, token: string): Promise<{ enrollment: EnrollmentRow; user: UserRow }> {
  const enrollment = await getOpenEnrollment(deps.pool, hashEnrollmentToken(token));
  const user = enrollment && (await getUserById(deps.pool, enrollment.user_id));
  if (!enrollment || !user || user.status !== 'active') throw invalidLink();
  return { enrollment, user };
}

/** This browser must have done the password (or resume) step of this very enrollment. */
function requireEnrollingSession(req: Request, enrollment: EnrollmentRow): void {
  const userId = pendingUserId(req, 'enrolling');
  if (userId !== enrollment.user_id || req.session.enrollmentId !== enrollment.id) {
    throw new HttpError(409, 'WRONG_STEP', 'Choose or confirm your password first.');
  }
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
    params: TokenParams,
    body: PasswordBody,
    async handler({ req, params, body, deps, audit }) {
      const { enrollment: pending, user } = await openEnrollment(deps, params.token);
      if (pending.password_set_at) throw new HttpError(409, 'WRONG_STEP', 'The password was already chosen: confirm it to continue.');
      const verdict = checkPassword({ password: body.password, username: user.username });
      if (!verdict.ok) throw new HttpError(400, 'WEAK_PASSWORD', verdict.message);
      // Hash outside the transaction: it is slow and needs no locks.
      const passwordHash = await deps.hasher.hash(body.password);
      await withTransaction(deps.pool, async (client) => {
        // Re-read under a row lock: two tabs submitting at once cannot both set the password.
        const enrollment = await getOpenEnrollment(client, hashEnrollmentToken(params.token), true);
        if (!enrollment || enrollment.id !== pending.id || enrollment.password_set_at) throw invalidLink();
        await setPasswordHash(client, user.id, passwordHash);
        await markPasswordSet(client, enrollment.id);
        await recordAuditEvent(client, actorOf(audit, user), {
          action: 'enrollment.password_set',
          outcome: 'success',
          target: { type: 'user', id: user.id },
          details: { enrollmentId: enrollment.id },
        });
      });
      await beginPendingStage(req, { userId: user.id, stage: 'enrolling', enrollmentId: pending.id });
      const response: StepResponse = { next: 'security_key' };
      return { body: response };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/enrollment/:token/resume',
    access: 'public',
    summary: 'Resume a half-finished enrollment: confirm the password chosen earlier.',
    params: TokenParams,
    body: PasswordBody,
    async handler({ req, params, body, deps, audit }) {
      const { enrollment, user } = await openEnrollment(deps, params.token);
      if (!enrollment.password_set_at) throw new HttpError(409, 'WRONG_STEP', 'Choose a password first.');
      // The same throttles as sign-in, before hashing: the link must not become a password oracle.
      const byIp = await deps.signInThrottle.consumeIp(req.ip ?? 'unknown');
      const byUser = byIp.allowed ? await deps.signInThrottle.checkUsername(user.username) : byIp;
      if (!byUser.allowed) throw rateLimited(byUser.retryAfter, `Too many attempts. Try again in ${byUser.retryAfter} seconds.`);
      const check = await deps.hasher.verify(user.password_hash, body.password);
      await recordAuditEvent(deps.pool, actorOf(audit, user), {
        action: 'enrollment.resumed',
        outcome: check.ok ? 'success' : 'failure',
        target: { type: 'user', id: user.id },
        details: { enrollmentId: enrollment.id },
      });
      if (!check.ok) {
        await deps.signInThrottle.recordFailure(user.username);
        throw new HttpError(401, 'INVALID_CREDENTIALS', 'That is not the password chosen for this account.');
      }
      await beginPendingStage(req, { userId: user.id, stage: 'enrolling', enrollmentId: enrollment.id });
      const response: StepResponse = { next: 'security_key' };
      return { body: response };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/enrollment/:token/key/options',
    access: 'public',
    summary: 'Enrollment step 2a: WebAuthn creation options for a new security key.',
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
    params: TokenParams,
    body: z.strictObject({ response: RegistrationResponseSchema, nickname: Nickname.optional(), hid: HidDeviceInfoSchema.optional() }),
    async handler({ req, params, body, deps, audit }) {
      const { enrollment, user } = await openEnrollment(deps, params.token);
      requireEnrollingSession(req, enrollment);
      const actor = actorOf(audit, user);
      const result = await registerKey(deps, {
        sessionId: req.sessionID,
        user,
        response: body.response,
        nickname: body.nickname,
        hid: body.hid,
        context: actor,
        onRegistered: async (client, key) => {
          // Under a row lock: the link is used exactly once even if two requests race here.
          const locked = await getOpenEnrollment(client, hashEnrollmentToken(params.token), true);
          if (!locked || locked.id !== enrollment.id) throw invalidLink();
          await markKeyRegistered(client, enrollment.id);
          await markEnrollmentUsed(client, enrollment.id);
          const target = { type: 'user', id: user.id };
          return [
            { action: 'enrollment.completed', outcome: 'success', target, details: { enrollmentId: enrollment.id, keyId: key.id } },
            { action: 'auth.signin', outcome: 'success', target, details: { method: 'enrollment', keyId: key.id } },
          ];
        },
      });
      if (!result.registered) throw registrationError(result.reason);
      await completeSignIn(req, { userId: user.id, keyId: result.key.id, method: 'enrollment' });
      const response: StepResponse = { next: 'done', user: toPublicUser(user) };
      return { body: response };
    },
  }),
];
