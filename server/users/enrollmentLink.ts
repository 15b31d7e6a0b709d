import { createHash, randomBytes } from 'node:crypto';
import type { EnrollmentLink } from '../../shared/api.ts';
import { recordAuditEvent, type AuditContext, type AuditInput } from '../audit/record.ts';
import { insertEnrollment, revokeOpenEnrollments } from '../db/enrollments.ts';
import type { PoolClient } from '../db/pool.ts';
import { lockUser } from '../db/users.ts';
import type { Config } from '../config.ts';
import type { TwoPersonRuleNote } from '../pendingChanges/twoPersonRule.ts';

/** Tokens are 32 random bytes; only their SHA-256 is stored, so a database dump reveals no link. */
export function hashEnrollmentToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

interface LinkRequest {
  config: Config;
  userId: string;
  username: string;
  context: AuditContext;
  /** For a recovery link the two-person rule covers: what it made of it, recorded in enrollment.created. */
  twoPersonRule?: TwoPersonRuleNote | undefined;
}

/** A new link's token (32 random bytes, base64url), its hash (all that is stored) and its URL. */
export function newEnrollmentToken(config: Pick<Config, 'origin'>): { token: string; tokenHash: Buffer; url: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, tokenHash: hashEnrollmentToken(token), url: `${config.origin}/enroll/${token}` };
}

/**
 * Writes a one-time enrollment link for a user, replacing any unused one, and answers the
 * audit event that records it. The caller appends that event once all its rows are written:
 * the audit-chain lock is the last lock a transaction takes (docs/locking.md).
 */
export async function writeEnrollmentLink(
  client: PoolClient,
  { config, userId, username, context, twoPersonRule }: LinkRequest,
): Promise<{ link: EnrollmentLink; auditEvent: AuditInput }> {
  const { tokenHash, url } = newEnrollmentToken(config);
  const { expiresAt, auditEvent } = await writeEnrollment(client, { config, userId, username, tokenHash, createdBy: context.actor?.id ?? null, twoPersonRule });
  return { link: { url, expiresAt: expiresAt.toISOString() }, auditEvent };
}

/**
 * Writes the enrollment behind a token hash (valid ENROLLMENT_TTL_HOURS from now), revoking
 * any unused one, and answers its expiry and audit event. A link a second admin approved gets
 * here with the hash of the token its requester was shown (server/pendingChanges/).
 */
export async function writeEnrollment(
  client: PoolClient,
  { config, userId, username, tokenHash, createdBy, twoPersonRule }: Omit<LinkRequest, 'context'> & { tokenHash: Buffer; createdBy: string | null },
): Promise<{ expiresAt: Date; auditEvent: AuditInput }> {
  const expiresAt = new Date(Date.now() + config.enrollmentTtlHours * 3_600_000);
  const replaced = await revokeOpenEnrollments(client, userId);
  const enrollment = await insertEnrollment(client, { userId, tokenHash, createdBy, expiresAt });
  return {
    expiresAt,
    auditEvent: {
      action: 'enrollment.created',
      outcome: 'success',
      target: { type: 'user', id: userId },
      details: { username, enrollmentId: enrollment.id, expiresAt: expiresAt.toISOString(), replacedLinks: replaced, ...twoPersonRule },
    },
  };
}

/**
 * Issues a new link for an existing user, inside the caller's transaction with its audit
 * event. The user's row is locked first, so a user deleted meanwhile is null (a 404), not a
 * foreign-key failure.
 */
export async function issueEnrollmentLink(client: PoolClient, { config, userId, context, twoPersonRule }: Omit<LinkRequest, 'username'>): Promise<EnrollmentLink | null> {
  const user = await lockUser(client, userId);
  if (!user) return null;
  const { link, auditEvent } = await writeEnrollmentLink(client, { config, userId, username: user.username, context, twoPersonRule });
  await recordAuditEvent(client, context, auditEvent);
  return link;
}
