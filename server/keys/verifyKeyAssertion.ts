import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { AssertionRecord } from '../../shared/audit.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { getKeyByCredentialId, isSynced, recordKeyUse, recordKeyUseIfUnchanged, setKeyStatus, type KeyRow } from '../db/keys.ts';
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
 *
 * One Postgres commit, and as few waits as the checks allow (issue #24): the challenge's GETDEL,
 * the read of the key and the transaction's BEGIN go out together; an accepted assertion then
 * writes the key's use only if the row is still the one that was judged (owner, status,
 * counter: `recordKeyUseIfUnchanged`), and its caller's change and events follow in the same
 * transaction. Anything else (a refusal, a clone, a row changed meanwhile) is decided again
 * on the row locked FOR UPDATE, exactly as if it had been locked from the start.
 */
export async function verifyKeyAssertion<T>(
  deps: Pick<Deps, 'pool' | 'config' | 'challenges' | 'sessions' | 'log' | 'bus' | 'grants'>,
  request: AssertionRequest<T>,
): Promise<AssertionResult<T>> {
  const { pool, config, challenges, sessions, bus, grants } = deps;
  const { sessionId, ceremony, expectedUserId, response, context } = request;
  const credentialId = Buffer.from(response.rawId || response.id, 'base64url');
  // Consumed before anything is decided: whatever happens next, this challenge is spent. The
  // GETDEL goes out first; nothing below looks at the key until it has answered.
  // The key is read meanwhile, on a connection of its own asked for *before* the transaction's:
  // the pool hands connections out in turn, so this read never waits behind the transaction
  // that waits for it.
  const ready = Promise.all([challenges.consume(sessionId, ceremony), getKeyByCredentialId(pool, credentialId)]);
  // Awaited in the transaction; this only keeps a failure to open one from leaving it unhandled.
  ready.catch(() => undefined);

  // The key's id and owner, for the clone path after the commit.
  let cloned: KeyRow | null = null;
  const outcome = await withTransaction(pool, async (client): Promise<AssertionResult<T>> => {
    const refuse = async (reason: AssertionFailure, key: KeyRow | null): Promise<AssertionResult<T>> => {
      await auditRefusal(client, context, { reason, key, expectedUserId, ceremony });
      return { verified: false, reason };
    };
    const [expectedChallenge, found] = await ready;
    if (!expectedChallenge) return refuse('challenge_invalid', null);
    if (!found) return refuse('key_unknown', null);

    // A key's credential id and public key never change: the signature is checked once, on the row read.
    const signature = await verifyAssertionSignature({
      config,
      response,
      expectedChallenge,
      key: found,
      requireUserVerification: request.requireUserVerification,
    });
    if (!signature.verified) return refuse(signature.reason, found);

    const judge = (key: KeyRow): AssertionFailure | null => {
      // A real signature from a key registered to someone else: the seeds' flaw, refused loudly.
      if (key.user_id !== expectedUserId) return 'key_mismatch';
      if (key.status === 'suspended') return 'key_suspended';
      // A first key registered after company sign-in (OIDC_FIRST_KEY=approval) counts only once an admin approved it.
      if (key.status === 'pending_approval') return 'key_pending_approval';
      if (key.status !== 'active') return 'key_inactive';
      const stored = Number(key.sign_count);
      if ((stored > 0 || signature.newCounter > 0) && signature.newCounter <= stored) return 'clone_detected';
      if (!request.allowSynced && isSynced({ device_type: signature.deviceType, backed_up: signature.backedUp })) return 'synced_not_allowed';
      return null;
    };

    // The common case in one statement: the use is written only where owner, status and counter
    // are still those judged above, which is what the lock would have guaranteed.
    let key = found;
    let failure = judge(key);
    const written = failure === null && (await recordKeyUseIfUnchanged(client, key, { userId: expectedUserId, signCount: signature.newCounter }));
    if (!written) {
      // Refused, or the row changed since it was read: judged again on the row locked.
      const locked = await getKeyByCredentialId(client, credentialId, true);
      if (!locked) return refuse('key_unknown', null);
      key = locked;
      failure = judge(key);
      if (failure === 'clone_detected') {
        const stored = Number(key.sign_count);
        await setKeyStatus(client, key.id, 'suspended', `signature counter went from ${stored} to ${signature.newCounter}`);
        await recordAuditEvent(client, context, {
          action: 'key.suspended',
          outcome: 'denied',
          target: { type: 'security_key', id: key.id },
          details: { reason: 'clone_detected', ownerId: key.user_id, storedCounter: stored, presentedCounter: signature.newCounter, ceremony },
        });
        cloned = key;
        return { verified: false, reason: 'clone_detected' };
      }
      if (failure) return refuse(failure, key);
      await recordKeyUse(client, key.id, signature.newCounter);
    }

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
    const key = cloned as KeyRow | null;
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
