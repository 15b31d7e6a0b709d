import type { WebAuthnOptionsResponse } from '../../shared/api.ts';
import type { AuditContext } from '../audit/record.ts';
import type { KeyRow } from '../db/keys.ts';
import type { Deps } from '../deps.ts';
import type { Ceremony } from '../webauthn/challenges.ts';
import { assertionOptions, registrationOptions } from '../webauthn/ceremonies.ts';

/**
 * Every WebAuthn ceremony starts the same way: a fresh single-use challenge for this
 * session and ceremony, the options built around it, and an audit record that options
 * were issued. The record is queued in the audit outbox (Redis, MAC'd) in the same MULTI
 * that stores the challenge, and reaches the chain within a second: issuing options commits
 * nothing to Postgres, so a whole ceremony (options + verification) costs one commit, the
 * verification's (issue #24; server/webauthn/keyStep.test.ts).
 */
async function issue(
  deps: Pick<Deps, 'challenges' | 'auditOutbox'>,
  { sessionId, ceremony, userId, context, details, build }: {
    sessionId: string;
    ceremony: Ceremony;
    userId: string;
    context: AuditContext;
    details?: Record<string, unknown>;
    build: (challenge: string) => Promise<unknown>;
  },
): Promise<WebAuthnOptionsResponse> {
  // The options leave only once the challenge and its record are stored: if Redis refuses,
  // the caller gets an error and no options.
  const challenge = await deps.challenges.issue(sessionId, ceremony, (multi) =>
    deps.auditOutbox.queue(multi, context, { action: 'webauthn.options_issued', outcome: 'success', target: { type: 'user', id: userId }, details: { ceremony, ...details } }),
  );
  const options = await build(challenge);
  return { options: options as WebAuthnOptionsResponse['options'] };
}

/** Request options for an assertion by one of `keys` (sign-in, step-up, key ownership). */
export function issueAssertionOptions(
  deps: Pick<Deps, 'challenges' | 'auditOutbox' | 'config'>,
  request: { sessionId: string; ceremony: Exclude<Ceremony, 'register'>; userId: string; keys: readonly KeyRow[]; userVerification?: 'preferred' | 'required'; context: AuditContext },
): Promise<WebAuthnOptionsResponse> {
  const userVerification = request.userVerification ?? deps.config.webauthn.userVerification;
  return issue(deps, { ...request, details: { keys: request.keys.length }, build: (challenge) => assertionOptions({ config: deps.config, keys: request.keys, challenge, userVerification }) });
}

/** Creation options to register a new key for `user`, excluding the keys it has. */
export function issueRegistrationOptions(
  deps: Pick<Deps, 'challenges' | 'auditOutbox' | 'config'>,
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
