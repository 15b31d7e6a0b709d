import { createHash, randomBytes } from 'node:crypto';
import type { EnrollmentLink } from '../../shared/api.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { insertEnrollment, revokeOpenEnrollments } from '../db/enrollments.ts';
import type { PoolClient } from '../db/pool.ts';
import type { Config } from '../config.ts';

/** Tokens are 32 random bytes; only their SHA-256 is stored, so a database dump reveals no link. */
export function hashEnrollmentToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Issues a one-time enrollment link for a user, replacing any unused one. Runs inside the
 * caller's transaction together with its audit event.
 */
export async function issueEnrollmentLink(
  client: PoolClient,
  { config, userId, username, context }: { config: Config; userId: string; username: string; context: AuditContext },
): Promise<EnrollmentLink> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + config.enrollmentTtlHours * 3_600_000);
  const replaced = await revokeOpenEnrollments(client, userId);
  const enrollment = await insertEnrollment(client, {
    userId,
    tokenHash: hashEnrollmentToken(token),
    createdBy: context.actor?.id ?? null,
    expiresAt,
  });
  await recordAuditEvent(client, context, {
    action: 'enrollment.created',
    outcome: 'success',
    target: { type: 'user', id: userId },
    details: { username, enrollmentId: enrollment.id, expiresAt: expiresAt.toISOString(), replacedLinks: replaced },
  });
  return { url: `${config.origin}/enroll/${token}`, expiresAt: expiresAt.toISOString() };
}
