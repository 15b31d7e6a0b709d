import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { decodeAttestationObject } from '@simplewebauthn/server/helpers';
import type { Config } from '../config.ts';
import type { KeyRow } from '../db/keys.ts';
import { webauthnVerifications } from '../metrics.ts';

/** ES256, EdDSA, RS256: what security keys use. */
const SUPPORTED_ALGORITHMS = [-7, -8, -257];
const CEREMONY_TIMEOUT_MS = 120_000;

/** Why SimpleWebAuthn refused a response, in our words (its messages are not for users). */
export type VerificationFailure =
  | 'challenge_invalid'
  | 'wrong_origin'
  | 'wrong_rp'
  | 'user_presence_missing'
  | 'user_verification_missing'
  | 'bad_signature'
  | 'malformed';

/** Counts a failed verification by its reason, and passes it on. */
function counted(ceremony: 'assertion' | 'registration', failure: { verified: false; reason: VerificationFailure }): { verified: false; reason: VerificationFailure } {
  webauthnVerifications.inc({ ceremony, outcome: failure.reason });
  return failure;
}

export function classifyVerificationError(error: unknown): VerificationFailure {
  const message = error instanceof Error ? error.message : '';
  if (/response challenge/.test(message)) return 'challenge_invalid';
  if (/response origin|top origin|cross-origin/.test(message)) return 'wrong_origin';
  if (/RP ID/.test(message)) return 'wrong_rp';
  if (/User not present|User presence was required/.test(message)) return 'user_presence_missing';
  if (/User verification/.test(message)) return 'user_verification_missing';
  return 'malformed';
}

const toBase64Url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const challengeBytes = (challenge: string) => new Uint8Array(Buffer.from(challenge, 'base64url'));

export function registrationOptions({
  config,
  user,
  existingKeys,
  challenge,
}: {
  config: Config;
  user: { id: string; username: string; displayName: string };
  existingKeys: readonly KeyRow[];
  challenge: string;
}): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return generateRegistrationOptions({
    rpName: config.rpName,
    rpID: config.rpId,
    userName: user.username,
    userDisplayName: user.displayName,
    // The WebAuthn user handle: our user id's 16 bytes, not the username (it may change).
    userID: new Uint8Array(Buffer.from(user.id.replaceAll('-', ''), 'hex')),
    challenge: challengeBytes(challenge),
    timeout: CEREMONY_TIMEOUT_MS,
    // Direct attestation to learn the AAGUID reliably (the key's model).
    attestationType: 'direct',
    excludeCredentials: existingKeys.map((key) => ({ id: toBase64Url(key.credential_id), transports: key.transports })),
    authenticatorSelection: {
      authenticatorAttachment: 'cross-platform',
      // Discoverable where the key can store it, so a key can also name its account.
      residentKey: 'preferred',
      userVerification: config.webauthn.userVerification,
    },
    // hints: ['security-key'].
    preferredAuthenticatorType: 'securityKey',
    supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
  });
}

export type RegistrationVerification =
  | {
      verified: true;
      credential: { id: Buffer; publicKey: Buffer; counter: number; transports: string[] };
      aaguid: string;
      deviceType: 'singleDevice' | 'multiDevice';
      backedUp: boolean;
      userVerified: boolean;
      /** The attestation's format and certificates (leaf first; none for `none` and self attestation), for the metadata check. */
      attestation: { format: string; x5c: Uint8Array[] };
    }
  | { verified: false; reason: VerificationFailure };

/** The x5c of a verified attestation object: SimpleWebAuthn has checked that its leaf belongs to this credential. */
function attestationCertificates(attestationObject: Uint8Array): Uint8Array[] {
  const x5c: unknown = decodeAttestationObject(new Uint8Array(attestationObject)).get('attStmt').get('x5c');
  return Array.isArray(x5c) ? x5c.filter((cert): cert is Uint8Array => cert instanceof Uint8Array) : [];
}

export async function verifyRegistration({
  config,
  response,
  expectedChallenge,
}: {
  config: Config;
  response: RegistrationResponseJSON;
  expectedChallenge: string;
}): Promise<RegistrationVerification> {
  try {
    const result = await verifyRegistrationResponse({
      response,
      expectedChallenge,
      expectedOrigin: config.origin,
      expectedRPID: config.rpId,
      requireUserPresence: true,
      requireUserVerification: config.webauthn.userVerification === 'required',
      supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    });
    if (!result.verified) return counted('registration', { verified: false, reason: 'bad_signature' });
    const info = result.registrationInfo;
    webauthnVerifications.inc({ ceremony: 'registration', outcome: 'verified' });
    return {
      verified: true,
      credential: {
        id: Buffer.from(info.credential.id, 'base64url'),
        publicKey: Buffer.from(info.credential.publicKey),
        counter: info.credential.counter,
        transports: info.credential.transports ?? response.response.transports ?? [],
      },
      aaguid: info.aaguid,
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      userVerified: info.userVerified,
      attestation: { format: info.fmt, x5c: attestationCertificates(info.attestationObject) },
    };
  } catch (error) {
    return counted('registration', { verified: false, reason: classifyVerificationError(error) });
  }
}

export function assertionOptions({
  config,
  keys,
  challenge,
  userVerification,
}: {
  config: Config;
  keys: readonly KeyRow[];
  challenge: string;
  userVerification: 'preferred' | 'required';
}): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return generateAuthenticationOptions({
    rpID: config.rpId,
    challenge: challengeBytes(challenge),
    timeout: CEREMONY_TIMEOUT_MS,
    userVerification,
    allowCredentials: keys.map((key) => ({ id: toBase64Url(key.credential_id), transports: key.transports as never })),
  });
}

export type SignatureVerification =
  | { verified: true; newCounter: number; userVerified: boolean; deviceType: 'singleDevice' | 'multiDevice'; backedUp: boolean }
  | { verified: false; reason: VerificationFailure };

/**
 * Verifies an assertion's origin, RP ID, challenge, flags and signature against a stored key.
 * The signature counter is deliberately NOT checked here: SimpleWebAuthn compares counters
 * before it verifies the signature, so an unsigned response with a low counter could make
 * us suspend someone's key. The caller compares counters after a valid signature.
 */
export async function verifyAssertionSignature({
  config,
  response,
  expectedChallenge,
  key,
  requireUserVerification,
}: {
  config: Config;
  response: AuthenticationResponseJSON;
  expectedChallenge: string;
  key: KeyRow;
  requireUserVerification: boolean;
}): Promise<SignatureVerification> {
  try {
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: config.origin,
      expectedRPID: config.rpId,
      requireUserVerification,
      credential: {
        id: toBase64Url(key.credential_id),
        publicKey: new Uint8Array(key.public_key),
        counter: 0,
        transports: key.transports as never,
      },
    });
    if (!result.verified) return counted('assertion', { verified: false, reason: 'bad_signature' });
    const info = result.authenticationInfo;
    webauthnVerifications.inc({ ceremony: 'assertion', outcome: 'verified' });
    return {
      verified: true,
      newCounter: info.newCounter,
      userVerified: info.userVerified,
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
    };
  } catch (error) {
    return counted('assertion', { verified: false, reason: classifyVerificationError(error) });
  }
}
