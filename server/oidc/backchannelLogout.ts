/**
 * OpenID Connect Back-Channel Logout 1.0 (issue #20): the provider POSTs a signed logout token
 * when a user's session there ends (signed out, or the account disabled or deleted). A token
 * that verifies (server/oidc/relyingParty.ts) and was never seen before ends that user's Argus
 * sessions — the one the provider's `sid` names, or all of them without one — with their
 * grants and, over the event bus, their sockets on every node.
 */
import { createHash } from 'node:crypto';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { getIdentity } from '../db/identities.ts';
import { getUserById } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import { CLOCK_TOLERANCE_SECONDS, LOGOUT_TOKEN_MAX_AGE_SECONDS, type OidcRelyingParty } from './relyingParty.ts';

export type BackchannelLogoutResult =
  | { accepted: true; sessionsEnded: number }
  | { accepted: false; reason: 'invalid' | 'replayed' };

/** How long a logout token's `jti` is remembered: past the oldest `iat` still accepted, clock tolerance included. */
export const JTI_MEMORY_SECONDS = LOGOUT_TOKEN_MAX_AGE_SECONDS + 2 * CLOCK_TOLERANCE_SECONDS;

function jtiKey(issuer: string, jti: string): string {
  return `oidc-logout-jti:${createHash('sha256').update(`${issuer}\n${jti}`).digest('hex')}`;
}

export async function backchannelLogout(
  deps: Pick<Deps, 'pool' | 'redis' | 'sessions' | 'grants' | 'log'>,
  { relyingParty, token, context }: { relyingParty: OidcRelyingParty; token: string; context: AuditContext },
): Promise<BackchannelLogoutResult> {
  const verified = await relyingParty.verifyLogoutToken(token);
  if (!verified.ok) {
    // Only a token the provider really signed is worth an audit record: anyone can post noise.
    if (verified.signed) {
      await recordAuditEvent(deps.pool, context, { action: 'auth.backchannel_logout_refused', outcome: 'denied', details: { reason: verified.reason } });
    } else {
      deps.log.info({ reason: verified.reason }, 'back-channel logout token refused');
    }
    return { accepted: false, reason: 'invalid' };
  }
  const { issuer, jti, subject, providerSid } = verified;
  // Single use (§2.6 step 7): SET NX claims the jti atomically across nodes; a second arrival is a replay.
  const claimed = await deps.redis.set(jtiKey(issuer, jti), '1', 'EX', JTI_MEMORY_SECONDS, 'NX');
  if (claimed !== 'OK') {
    await recordAuditEvent(deps.pool, context, {
      action: 'auth.backchannel_logout_refused',
      outcome: 'denied',
      details: { reason: 'replayed', issuer, subject, ...(providerSid ? { providerSid } : {}) },
    });
    return { accepted: false, reason: 'replayed' };
  }
  try {
    const identity = subject ? await getIdentity(deps.pool, issuer, subject) : null;
    const user = identity ? await getUserById(deps.pool, identity.user_id) : null;
    // Nobody here by that subject: nothing to end, and the provider is told so with a 200 (§2.8).
    if (!user) {
      deps.log.info('back-channel logout for a subject linked to no account');
      return { accepted: true, sessionsEnded: 0 };
    }
    const actor: AuditContext = { ...context, actor: null };
    let sessionsEnded: number;
    if (providerSid) {
      // Only the Argus sessions that began with this provider session.
      const sessions = (await deps.sessions.sessionsForUser(user.id)).filter(({ data }) => data.oidc?.sid === providerSid);
      for (const { sid } of sessions) {
        // Grants first: access ends before anything else (docs/architecture.md invariant 2).
        await deps.grants.endForSession(sid, 'signed_out', actor);
        await deps.sessions.destroyOne(sid);
      }
      sessionsEnded = sessions.length;
    } else {
      await deps.grants.endForUser(user.id, 'signed_out', actor);
      sessionsEnded = await deps.sessions.destroyAllForUser(user.id);
    }
    await recordAuditEvent(deps.pool, actor, {
      action: 'auth.backchannel_logout',
      outcome: 'success',
      target: { type: 'user', id: user.id },
      details: { username: user.username, issuer, subject, ...(providerSid ? { providerSid } : {}), sessionsEnded },
    });
    return { accepted: true, sessionsEnded };
  } catch (error) {
    // Nothing was ended for sure: let the provider's retry of this very token through.
    await deps.redis.del(jtiKey(issuer, jti)).catch(() => undefined);
    throw error;
  }
}
