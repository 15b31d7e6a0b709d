import { z } from 'zod';
import type { EnrollmentInfo, StepResponse } from '../../shared/api.ts';
import { PASSWORD_MAX_LENGTH } from '../../shared/api.ts';
import { recordAuditEvent } from '../audit/record.ts';
import { checkPassword } from '../auth/passwordPolicy.ts';
import { regenerateSession, saveSession } from '../auth/sessionUser.ts';
import { getOpenEnrollment, markEnrollmentUsed, markPasswordSet } from '../db/enrollments.ts';
import { withTransaction } from '../db/pool.ts';
import { getUserById, setPasswordHash, toPublicUser } from '../db/users.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute } from '../http/route.ts';
import { hashEnrollmentToken } from '../users/enrollmentLink.ts';

const TokenParams = z.strictObject({
  // 32 random bytes, base64url without padding.
  token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not an enrollment token'),
});

const invalidLink = () =>
  new HttpError(404, 'ENROLLMENT_INVALID', 'This enrollment link is invalid, expired or already used. Ask an administrator for a new one.');

export const enrollmentRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/enrollment/:token',
    access: 'public',
    summary: 'What an enrollment link is for and which steps remain.',
    params: TokenParams,
    async handler({ params, deps }) {
      const enrollment = await getOpenEnrollment(deps.pool, hashEnrollmentToken(params.token));
      const user = enrollment && (await getUserById(deps.pool, enrollment.user_id));
      if (!enrollment || !user || user.status !== 'active') throw invalidLink();
      const body: EnrollmentInfo = {
        username: user.username,
        displayName: user.display_name,
        expiresAt: enrollment.expires_at.toISOString(),
        remaining: enrollment.password_set_at ? [] : ['password'],
      };
      return { body };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/enrollment/:token/password',
    access: 'public',
    summary: 'Choose a password with an enrollment link; completes enrollment and signs in.',
    params: TokenParams,
    body: z.strictObject({ password: z.string().min(1, 'Choose a password.').max(PASSWORD_MAX_LENGTH * 4) }),
    async handler({ req, params, body, deps, audit }) {
      const tokenHash = hashEnrollmentToken(params.token);
      const pending = await getOpenEnrollment(deps.pool, tokenHash);
      const pendingUser = pending && (await getUserById(deps.pool, pending.user_id));
      if (!pending || !pendingUser || pendingUser.status !== 'active') throw invalidLink();

      const verdict = checkPassword({ password: body.password, username: pendingUser.username });
      if (!verdict.ok) throw new HttpError(400, 'WEAK_PASSWORD', verdict.message);
      // Hash outside the transaction: it is slow and needs no locks.
      const passwordHash = await deps.hasher.hash(body.password);

      const user = await withTransaction(deps.pool, async (client) => {
        // Re-read under a row lock: two tabs submitting at once cannot both use the link.
        const enrollment = await getOpenEnrollment(client, tokenHash, true);
        if (!enrollment || enrollment.id !== pending.id) throw invalidLink();
        const context = { ...audit, actor: { id: pendingUser.id, username: pendingUser.username } };
        const target = { type: 'user', id: pendingUser.id };
        await setPasswordHash(client, pendingUser.id, passwordHash);
        await markPasswordSet(client, enrollment.id);
        await recordAuditEvent(client, context, { action: 'enrollment.password_set', outcome: 'success', target });
        // The password is the last step for now; the security-key step will come before this.
        await markEnrollmentUsed(client, enrollment.id);
        await recordAuditEvent(client, context, {
          action: 'enrollment.completed',
          outcome: 'success',
          target,
          details: { enrollmentId: enrollment.id },
        });
        await recordAuditEvent(client, context, { action: 'auth.signin', outcome: 'success', target, details: { method: 'enrollment' } });
        return pendingUser;
      });

      await regenerateSession(req);
      req.session.userId = user.id;
      req.session.stage = 'full';
      req.session.signedInAt = Date.now();
      await saveSession(req);
      const response: StepResponse = { next: 'done', user: toPublicUser(user) };
      return { body: response };
    },
  }),
];
