import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { AssertionRecord } from '../../shared/audit.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { getKeyByCredentialId, isSynced, recordKeyUse, setKeyStatus, type KeyRow } from '../db/keys.ts';
import { withTransaction, type PoolClient } from '../db/pool.ts';
import type { Deps } from '../deps.ts';
import type { Ceremony } from '../webauthn/challenges.ts';
import { verifyAssertionSignature, type VerificationFailure } from '../webauthn/ceremonies.ts';
import { assertionRecord } from './proofRecords.ts';

export type AssertionFailure =
  | VerificationFailure
  | 'key_unknown'
  | 'key_mismatch'
  | 'key_inactive'
  | 'key_suspended'
  | 'key_pending_approval'
  | 'clone_detected'
  | 'synced_not_allowed';

export type AssertionResult<T> = { verified: true; key: KeyRow; userVerified: boolean; value: T } | { verified: false; reason: AssertionFailure };

export interface AssertionRequest<T> {
  sessionId: string;
  ceremony: Ceremony;
  /** The session's user: only their own key counts (docs/architecture.md invariant 5). */
  expectedUserId: string;
  response: AuthenticationResponseJSON;
  requireUserVerification: boolean;
  allowSynced: boolean;
  context: AuditContext;
  /**
   * Runs inside the transaction that records the key's use, for the caller's own change
   * and its audit event, so they commit together. `proof` is the accepted assertion as its
   * event must record it (details.assertion, docs/presence-proofs.md).
   */
  onVerified: (client: PoolClient, key: KeyRow, assertion: { userVerified: boolean; proof: AssertionRecord }) => Promise<T>;
}

/**
 * Verifies a WebAuthn assertion against a key of the expected user, in this order:
 * single-use challenge, known credential, signature (with origin, RP ID and flags), owner,
 * key status, counter (clone detection), synced passkey policy. Every refusal is audited.
 * A counter that does not increase after a valid signature suspends the key and ends the
 * sessions it signed in (docs/architecture.md invariant 6).
 */
export async function verifyKeyAssertion<T>(
  deps: Pick<Deps, 'pool' | 'config' | 'challenges' | 'sessions' | 'log' | 'bus' | 'grants'>,
  request: AssertionRequest<T>,
): Promise<AssertionResult<T>> {
  const { pool, config, challenges, sessions, bus, grants } = deps;
  const { sessionId, ceremony, expectedUserId, response, context } = request;
  // Consumed before anything else: whatever happens next, this challenge is spent.
  const expectedChallenge = await challenges.consume(sessionId, ceremony);

  const outcome = await withTransaction(pool, async (client): Promise<AssertionResult<T>> => {
    const refuse = async (reason: AssertionFailure, key: KeyRow | null): Promise<AssertionResult<T>> => {
      await auditRefusal(client, context, { reason, key, expectedUserId, ceremony });
      return { verified: false, reason };
    };
    if (!expectedChallenge) return refuse('challenge_invalid', null);
    const key = await getKeyByCredentialId(client, Buffer.from(response.rawId || response.id, 'base64url'), true);
    if (!key) return refuse('key_unknown', null);

    const signature = await verifyAssertionSignature({
      config,
      response,
      expectedChallenge,
      key,
      requireUserVerification: request.requireUserVerification,
    });
    if (!signature.verified) return refuse(signature.reason, key);
    // A real signature from a key registered to someone else: the seeds' flaw, refused loudly.
    if (key.user_id !== expectedUserId) return refuse('key_mismatch', key);
    if (key.status === 'suspended') return refuse('key_suspended', key);
    // A first key registered after company sign-in (OIDC_FIRST_KEY=approval) counts only once an admin approved it.
    if (key.status === 'pending_approval') return refuse('key_pending_approval', key);
    if (key.status !== 'active') return refuse('key_inactive', key);

    const stored = Number(key.sign_count);
    if ((stored > 0 || signature.newCounter > 0) && signature.newCounter <= stored) {
      await setKeyStatus(client, key.id, 'suspended', `signature counter went from ${stored} to ${signature.newCounter}`);
      await recordAuditEvent(client, context, {
        action: 'key.suspended',
        outcome: 'denied',
        target: { type: 'security_key', id: key.id },
        details: { reason: 'clone_detected', ownerId: key.user_id, storedCounter: stored, presentedCounter: signature.newCounter, ceremony },
      });
      return { verified: false, reason: 'clone_detected' };
    }
    if (!request.allowSynced && isSynced({ device_type: signature.deviceType, backed_up: signature.backedUp })) {
      return refuse('synced_not_allowed', key);
    }

    await recordKeyUse(client, key.id, signature.newCounter);
    const proof = assertionRecord({
      config,
      response,
      credentialId: key.credential_id,
      challenge: expectedChallenge,
      userId: expectedUserId,
      requireUserVerification: request.requireUserVerification,
    });
    const value = await request.onVerified(client, key, { userVerified: signature.userVerified, proof });
    return { verified: true, key, userVerified: signature.userVerified, value };
  });

  if (!outcome.verified && outcome.reason === 'key_mismatch') {
    // docs/architecture.md invariant 5: pushed to the user's sessions, not only answered to this request.
    bus.notify({ userId: expectedUserId }, { type: 'KEY_MISMATCH_ERROR', message: 'This key belongs to another account.' });
  }
  if (!outcome.verified && outcome.reason === 'clone_detected') {
    const key = await getKeyByCredentialId(pool, Buffer.from(response.rawId || response.id, 'base64url'));
    if (key) {
      const grantsEnded = await grants.endForKey(key.id, 'key_suspended', context);
      const sessionsEnded = await sessions.destroyAllForKey(key.id);
      bus.notify({ userId: key.user_id }, { type: 'KEY_SUSPENDED', keyId: key.id });
      deps.log.warn({ keyId: key.id, sessionsEnded, grantsEnded }, 'security key suspended: signature counter regression');
    }
  }
  return outcome;
}

async function auditRefusal(
  client: PoolClient,
  context: AuditContext,
  { reason, key, expectedUserId, ceremony }: { reason: AssertionFailure; key: KeyRow | null; expectedUserId: string; ceremony: Ceremony },
): Promise<void> {
  if (reason === 'key_mismatch' && key) {
    await recordAuditEvent(client, context, {
      action: 'auth.key_mismatch',
      outcome: 'denied',
      target: { type: 'security_key', id: key.id },
      details: { ceremony, sessionUserId: expectedUserId, keyOwnerId: key.user_id, keyOwnerUsername: key.owner_username },
    });
    return;
  }
  await recordAuditEvent(client, context, {
    action: 'webauthn.assertion_failed',
    outcome: 'denied',
    target: key ? { type: 'security_key', id: key.id } : { type: 'user', id: expectedUserId },
    details: { ceremony, reason },
  });
}
