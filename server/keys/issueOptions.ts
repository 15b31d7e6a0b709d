import type { WebAuthnOptionsResponse } from '../../shared/api.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import type { KeyRow } from '../db/keys.ts';
import type { Deps } from '../deps.ts';
import type { Ceremony } from '../webauthn/challenges.ts';
import { assertionOptions, registrationOptions } from '../webauthn/ceremonies.ts';

/**
 * Every WebAuthn ceremony starts the same way: a fresh single-use challenge for this
 * session and ceremony, the options built around it, and an audit record that options
 * were issued (one commit: a standalone event, batched by the node's audit appender).
 */
async function issue(
  deps: Pick<Deps, 'pool' | 'challenges'>,
  { sessionId, ceremony, userId, context, details, build }: {
    sessionId: string;
    ceremony: Ceremony;
    userId: string;
    context: AuditContext;
    details?: Record<string, unknown>;
    build: (challenge: string) => Promise<unknown>;
  },
): Promise<WebAuthnOptionsResponse> {
  // The challenge's write to Redis and the event's append to Postgres wait side by side, not
  // one after the other. The options leave only once both have answered: if either fails the
  // caller gets an error and no options (a challenge written then just runs out).
  const [challenge] = await Promise.all([
    deps.challenges.issue(sessionId, ceremony),
    recordAuditEvent(deps.pool, context, { action: 'webauthn.options_issued', outcome: 'success', target: { type: 'user', id: userId }, details: { ceremony, ...details } }),
  ]);
  const options = await build(challenge);
  return { options: options as WebAuthnOptionsResponse['options'] };
}

/** Request options for an assertion by one of `keys` (sign-in, step-up, key ownership). */
export function issueAssertionOptions(
  deps: Pick<Deps, 'pool' | 'challenges' | 'config'>,
  request: { sessionId: string; ceremony: Exclude<Ceremony, 'register'>; userId: string; keys: readonly KeyRow[]; userVerification?: 'preferred' | 'required'; context: AuditContext },
): Promise<WebAuthnOptionsResponse> {
  const userVerification = request.userVerification ?? deps.config.webauthn.userVerification;
  return issue(deps, { ...request, details: { keys: request.keys.length }, build: (challenge) => assertionOptions({ config: deps.config, keys: request.keys, challenge, userVerification }) });
}

/** Creation options to register a new key for `user`, excluding the keys it has. */
export function issueRegistrationOptions(
  deps: Pick<Deps, 'pool' | 'challenges' | 'config'>,
  request: { sessionId: string; user: { id: string; username: string; displayName: string }; existingKeys: readonly KeyRow[]; via: 'enrollment' | 'account'; context: AuditContext },
): Promise<WebAuthnOptionsResponse> {
  return issue(deps, {
    sessionId: request.sessionId,
    ceremony: 'register',
    userId: request.user.id,
    context: request.context,
    details: { via: request.via },
    build: (challenge) => registrationOptions({ config: deps.config, user: request.user, existingKeys: request.existingKeys, challenge }),
  });
}
