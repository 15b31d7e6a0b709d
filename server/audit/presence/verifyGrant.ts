/**
 * The proof of one grant from two events: the grant event (grant.issued or grant.renewed, with
 * `assertion` and `grant`) and the registration event of the credential that signed it. What
 * the audit page's "proof: verified" and the export manifest's count rest on. The checks that
 * need the whole log (challenge reuse, counters, lifetimes, uses) are PresenceVerifier's.
 */
import type { AuditEventView, GrantProof } from '../../../shared/audit.ts';
import { checkAssertion } from './checkAssertion.ts';
import { coseToPublicKey } from './cose.ts';
import { base64urlBytes, isObject, readAssertionRecord, readCredentialRecord, readDeletedCredential, readGrantRecord, readReassignment } from './recordedFields.ts';

/** Events that delete a credential (each names it in details.credential). */
export const CREDENTIAL_DELETION_ACTIONS: readonly string[] = ['key.deleted', 'key.removed'];

/**
 * Who owns `credentialId` after `changes` (reassignments and deletions, in seq order), starting
 * from the registration's owner; null once it was deleted.
 */
export function ownerAfter(credentialId: string, registeredTo: string, changes: readonly AuditEventView[]): string | null {
  let owner: string | null = registeredTo;
  for (const change of changes) {
    const moved = readReassignment(change.details);
    if (moved?.id === credentialId && owner !== null) owner = moved.toUserId;
    if (CREDENTIAL_DELETION_ACTIONS.includes(change.action) && readDeletedCredential(change.details.credential)?.id === credentialId) owner = null;
    if (change.action === 'user.deleted' && Array.isArray(change.details.keysDeleted)) {
      for (const key of change.details.keysDeleted) if (isObject(key) && readDeletedCredential(key.credential)?.id === credentialId) owner = null;
    }
  }
  return owner;
}

/**
 * Checks, in this order, and answers the first that fails: the grant event carries a readable
 * `assertion` and `grant`; the registration is of the credential the assertion names and its
 * COSE key reads as a key of its recorded algorithm; the credential belonged to the
 * assertion's user (the registration's owner, followed through `ownerChanges` when given: the
 * reassignment and deletion events between the two, in seq order); the assertion's user is the
 * grant event's actor; then checkAssertion's checks (client data type, challenge, origin, RP ID
 * hash, UP, UV where required, signature).
 */
export function verifyGrantEvent({
  grant,
  registration,
  ownerChanges = [],
}: {
  grant: AuditEventView;
  registration: AuditEventView | null;
  ownerChanges?: readonly AuditEventView[];
}): GrantProof {
  const fail = (reason: string): GrantProof => ({ verified: false, reason });
  // What the proof is made of: the signature data and the grant it made.
  if (grant.details.assertion === undefined) return fail('assertion_missing');
  const assertion = readAssertionRecord(grant.details.assertion);
  if (!assertion) return fail('assertion_malformed');
  if (!readGrantRecord(grant.details.grant)) return fail('grant_malformed');

  // The public key comes from the credential's own registration, never from the grant event.
  if (!registration) return fail('unknown_credential');
  const credential = readCredentialRecord(registration.details);
  if (!credential) return fail('registration_malformed');
  if (credential.id !== assertion.credentialId) return fail('unknown_credential');
  const cose = coseToPublicKey(base64urlBytes(credential.publicKey)!, credential.alg);
  if (!cose.ok) return fail(cose.reason);

  // Ownership, not possession of any key (invariant 5): the credential was the user's own then.
  const owner = ownerAfter(credential.id, credential.userId, ownerChanges);
  if (owner === null) return fail('credential_deleted');
  if (owner !== assertion.userId) return fail('wrong_owner');
  // The grant is for the user the assertion was made for.
  if (grant.actorId !== assertion.userId) return fail('user_mismatch');

  const check = checkAssertion({ assertion, publicKey: cose.publicKey });
  if (check.failures.length > 0) return fail(check.failures[0]!);
  return { verified: true, credentialId: credential.id };
}
