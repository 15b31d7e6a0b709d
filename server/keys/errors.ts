import { HttpError } from '../http/errors.ts';
import type { AssertionFailure } from './verifyKeyAssertion.ts';
import type { RegistrationFailure } from './registerKey.ts';

const CHALLENGE_INVALID = () =>
  new HttpError(400, 'CHALLENGE_INVALID', 'This security-key request expired or was already used. Try again.');

/** The one place WebAuthn refusals become HTTP answers a person can act on. */
export function assertionError(reason: AssertionFailure): HttpError {
  switch (reason) {
    case 'challenge_invalid':
      return CHALLENGE_INVALID();
    case 'key_unknown':
      return new HttpError(403, 'KEY_UNKNOWN', 'This security key is not registered to your account.');
    case 'key_mismatch':
      return new HttpError(403, 'KEY_MISMATCH', 'This key belongs to another account.');
    case 'key_inactive':
      return new HttpError(403, 'KEY_INACTIVE', 'This security key has been deactivated. Use another key or ask an administrator.');
    case 'key_suspended':
    case 'clone_detected':
      return new HttpError(403, 'KEY_SUSPENDED', 'This security key is suspended because it may have been cloned. Contact an administrator.');
    case 'synced_not_allowed':
      return new HttpError(403, 'SYNCED_PASSKEY_NOT_ALLOWED', 'Synced passkeys are not accepted here. Use a hardware security key.');
    default:
      return verificationError(reason);
  }
}

export function registrationError(reason: RegistrationFailure): HttpError {
  switch (reason) {
    case 'challenge_invalid':
      return CHALLENGE_INVALID();
    case 'already_registered':
      return new HttpError(409, 'CONFLICT', 'This security key is already registered.');
    case 'synced_not_allowed':
      return new HttpError(403, 'SYNCED_PASSKEY_NOT_ALLOWED', 'Synced passkeys cannot be registered. Use a hardware security key.');
    default:
      return verificationError(reason);
  }
}

function verificationError(reason: Exclude<AssertionFailure, 'challenge_invalid'>): HttpError {
  const messages: Record<string, string> = {
    wrong_origin: 'The key answered for a different website.',
    wrong_rp: 'The key answered for a different website.',
    user_presence_missing: 'The key did not confirm that you touched it.',
    user_verification_missing: 'Your key must verify you (PIN or fingerprint) for this.',
    bad_signature: "The key's signature could not be verified.",
    malformed: 'The security-key response was not understood.',
  };
  return new HttpError(400, 'WEBAUTHN_FAILED', messages[reason] ?? 'The security key could not be verified.');
}
