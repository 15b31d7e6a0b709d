/**
 * The checks of one recorded assertion that need only the assertion and its credential's
 * public key (docs/presence-proofs.md, "Checking one assertion"): the client data, the
 * authenticator data and the signature. What needs the rest of the log — challenge reuse,
 * counters, ownership, grant lifetimes — is presenceVerifier.ts's.
 */
import { createHash } from 'node:crypto';
import type { AssertionRecord } from '../../../shared/audit.ts';
import { verifyCredentialSignature, type CredentialPublicKey } from './cose.ts';
import { base64urlBytes } from './recordedFields.ts';

/** Authenticator data flags (WebAuthn Level 3 §6.1). */
export const FLAG_UP = 0x01;
export const FLAG_UV = 0x04;

/** rpIdHash (32) ‖ flags (1) ‖ signCount (4, big-endian): the shortest authenticator data. */
const AUTH_DATA_MIN = 37;

export type AssertionCheckFailure =
  | 'assertion_malformed'
  | 'client_data_malformed'
  | 'type_mismatch'
  | 'challenge_mismatch'
  | 'origin_mismatch'
  | 'rp_id_mismatch'
  | 'user_not_present'
  | 'uv_required'
  | 'signature_invalid';

export interface AssertionCheck {
  /** Every check that failed, in the order the document lists them; empty when all pass. */
  failures: AssertionCheckFailure[];
  /** Whether the signature verified (only then do the counter and flags speak for the key). */
  signatureValid: boolean;
  /** The authenticator data's signature counter; null when it could not be read. */
  counter: number | null;
  userVerified: boolean;
}

/** The decoded bytes of an assertion; null when a binary member is not canonical base64url. */
export interface AssertionBytes {
  clientDataJSON: Buffer;
  authenticatorData: Buffer;
  signature: Buffer;
}

export function assertionBytes(assertion: AssertionRecord): AssertionBytes | null {
  const clientDataJSON = base64urlBytes(assertion.clientDataJSON);
  const authenticatorData = base64urlBytes(assertion.authenticatorData);
  const signature = base64urlBytes(assertion.signature);
  if (!clientDataJSON || !authenticatorData || !signature) return null;
  return { clientDataJSON, authenticatorData, signature };
}

/** What the key signs (WebAuthn §7.2 step 20): authenticatorData ‖ SHA-256(clientDataJSON). */
export function signedBytes({ authenticatorData, clientDataJSON }: Pick<AssertionBytes, 'authenticatorData' | 'clientDataJSON'>): Buffer {
  return Buffer.concat([authenticatorData, createHash('sha256').update(clientDataJSON).digest()]);
}

/** SHA-256 of an RP ID, remembered for the few RP IDs a log holds (bounded: a forged log may hold many). */
const rpIdHashes = new Map<string, Buffer>();
function rpIdHash(rpId: string): Buffer {
  const known = rpIdHashes.get(rpId);
  if (known) return known;
  const hash = createHash('sha256').update(rpId, 'utf8').digest();
  if (rpIdHashes.size < 16) rpIdHashes.set(rpId, hash);
  return hash;
}

/** Refuses bytes that are not UTF-8 rather than replacing them. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

const malformed = (failure: AssertionCheckFailure): AssertionCheck => ({ failures: [failure], signatureValid: false, counter: null, userVerified: false });

/**
 * Checks, in this order, and reports every one that fails: clientDataJSON is a JSON object
 * whose `type` is "webauthn.get", whose `challenge` is the recorded challenge and whose
 * `origin` is the recorded origin; the authenticator data's rpIdHash is SHA-256 of the
 * recorded RP ID; UP is set, and UV when the assertion required user verification; the
 * signature verifies with `publicKey` over authenticatorData ‖ SHA-256(clientDataJSON).
 */
export function checkAssertion({ assertion, publicKey }: { assertion: AssertionRecord; publicKey: CredentialPublicKey }): AssertionCheck {
  const bytes = assertionBytes(assertion);
  // Binary members that are not base64url, or authenticator data too short to hold its fixed part.
  if (!bytes || bytes.authenticatorData.length < AUTH_DATA_MIN) return malformed('assertion_malformed');

  let clientData: unknown;
  try {
    clientData = JSON.parse(UTF8.decode(bytes.clientDataJSON));
  } catch {
    clientData = null;
  }
  if (typeof clientData !== 'object' || clientData === null || Array.isArray(clientData)) return malformed('client_data_malformed');
  const { type, challenge, origin } = clientData as Record<string, unknown>;

  const failures: AssertionCheckFailure[] = [];
  // An assertion, not a registration (or anything else signed with the key).
  if (type !== 'webauthn.get') failures.push('type_mismatch');
  // Signed over the very challenge Argus issued.
  if (challenge !== assertion.challenge) failures.push('challenge_mismatch');
  // Made on Argus's page, not a look-alike's.
  if (origin !== assertion.origin) failures.push('origin_mismatch');

  const authData = bytes.authenticatorData;
  // Scoped to Argus's RP ID by the authenticator itself.
  if (!authData.subarray(0, 32).equals(rpIdHash(assertion.rpId))) failures.push('rp_id_mismatch');
  const flags = authData[32]!;
  // A person touched the key.
  if ((flags & FLAG_UP) === 0) failures.push('user_not_present');
  const userVerified = (flags & FLAG_UV) !== 0;
  // PIN or biometric, where the ceremony asked for it.
  if (assertion.requireUserVerification && !userVerified) failures.push('uv_required');

  const signatureValid = verifyCredentialSignature(publicKey, signedBytes(bytes), bytes.signature);
  if (!signatureValid) failures.push('signature_invalid');
  return { failures, signatureValid, counter: authData.readUInt32BE(33), userVerified };
}
