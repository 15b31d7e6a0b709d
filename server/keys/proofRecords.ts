/**
 * What the audit log keeps of each registration and each accepted assertion, so anyone with
 * the log can re-verify offline that a grant was signed by its owner's own key (issue #25,
 * docs/presence-proofs.md). Public signature data, no secrets; every binary value base64url
 * without padding. These objects go into audit event details only, never into the logs.
 */
import { createHash } from 'node:crypto';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { cose, decodeCredentialPublicKey } from '@simplewebauthn/server/helpers';
import type { AssertionRecord, CredentialRecord, GrantRecord } from '../../shared/audit.ts';
import type { Config } from '../config.ts';
import { toGrantView, type Grant } from '../grants/grants.ts';

/**
 * A registered credential: its COSE public key as SimpleWebAuthn returned it from the
 * attested credential data (the bytes Argus stores and verifies with), its algorithm, the
 * AAGUID, the SHA-256 of the attestation object and the owner.
 */
export function credentialRecord({
  credentialId,
  publicKey,
  aaguid,
  attestationObject,
  userId,
}: {
  credentialId: Uint8Array;
  publicKey: Uint8Array;
  aaguid: string;
  /** response.response.attestationObject as the browser sent it (base64url). */
  attestationObject: string;
  userId: string;
}): CredentialRecord {
  // Already decoded once by the verification: a key that got this far has a numeric alg.
  const alg = decodeCredentialPublicKey(new Uint8Array(publicKey)).get(cose.COSEKEYS.alg);
  return {
    id: Buffer.from(credentialId).toString('base64url'),
    publicKey: Buffer.from(publicKey).toString('base64url'),
    alg: typeof alg === 'number' ? alg : 0,
    aaguid,
    attestationObjectSha256: createHash('sha256').update(Buffer.from(attestationObject, 'base64url')).digest('hex'),
    userId,
  };
}

/**
 * An assertion Argus accepted, as the browser sent it (the fields are base64url in the JSON
 * already and are kept as they came), with what Argus expected of it: the challenge it issued,
 * its origin and RP ID, the user, and whether user verification was required.
 */
export function assertionRecord({
  config,
  response,
  credentialId,
  challenge,
  userId,
  requireUserVerification,
}: {
  config: Pick<Config, 'origin' | 'rpId'>;
  response: AuthenticationResponseJSON;
  /** The credential the signature verified with, as stored. */
  credentialId: Uint8Array;
  challenge: string;
  userId: string;
  requireUserVerification: boolean;
}): AssertionRecord {
  return {
    credentialId: Buffer.from(credentialId).toString('base64url'),
    clientDataJSON: response.response.clientDataJSON,
    authenticatorData: response.response.authenticatorData,
    signature: response.response.signature,
    userHandle: response.response.userHandle ?? null,
    challenge,
    origin: config.origin,
    rpId: config.rpId,
    userId,
    requireUserVerification,
  };
}

/** The grant an assertion made: what it covers and for how long. */
export function grantRecord(grant: Grant): GrantRecord {
  // The grant as users see it (toGrantView), less the key, which the record names elsewhere.
  const { id, models, issuedAt, expiresAt, presenceMode } = toGrantView(grant);
  return { id, models, issuedAt, expiresAt, presenceMode };
}
