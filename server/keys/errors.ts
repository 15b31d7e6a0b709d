import type { ErrorCode } from '../../shared/errors.ts';
import { HttpError } from '../http/errors.ts';
import type { VerificationFailure } from '../webauthn/ceremonies.ts';
import type { AssertionFailure } from './verifyKeyAssertion.ts';
import type { RegistrationFailure } from './registerKey.ts';

/** How a refusal reads over HTTP: status, stable code, and a sentence a person can act on. */
export type Refusal = readonly [status: number, code: ErrorCode, message: string];

/** The HTTP answer for a reason, from a table that names every reason (the type checks it). */
export function refusalFor<R extends string>(table: Record<R, Refusal>, reason: R): HttpError {
  const [status, code, message] = table[reason];
  return new HttpError(status, code, message);
}

const VERIFICATION_REFUSALS = {
  challenge_invalid: [400, 'CHALLENGE_INVALID', 'This security-key request expired or was already used. Try again.'],
  wrong_origin: [400, 'WEBAUTHN_FAILED', 'The key answered for a different website.'],
  wrong_rp: [400, 'WEBAUTHN_FAILED', 'The key answered for a different website.'],
  user_presence_missing: [400, 'WEBAUTHN_FAILED', 'The key did not confirm that you touched it.'],
  user_verification_missing: [400, 'WEBAUTHN_FAILED', 'Your key must verify you (PIN or fingerprint) for this.'],
  bad_signature: [400, 'WEBAUTHN_FAILED', "The key's signature could not be verified."],
  malformed: [400, 'WEBAUTHN_FAILED', 'The security-key response was not understood.'],
} as const satisfies Record<VerificationFailure, Refusal>;

/** The one place WebAuthn refusals become HTTP answers a person can act on. */
export const ASSERTION_REFUSALS = {
  ...VERIFICATION_REFUSALS,
  key_unknown: [403, 'KEY_UNKNOWN', 'This security key is not registered to your account.'],
  key_mismatch: [403, 'KEY_MISMATCH', 'This key belongs to another account.'],
  key_inactive: [403, 'KEY_INACTIVE', 'This security key has been deactivated. Use another key or ask an administrator.'],
  key_suspended: [403, 'KEY_SUSPENDED', 'This security key is suspended: it may have been cloned, or its model was reported compromised. Contact an administrator.'],
  key_pending_approval: [403, 'KEY_PENDING_APPROVAL', 'This security key waits for an administrator to approve it. Ask an administrator, then sign in again.'],
  clone_detected: [403, 'KEY_SUSPENDED', 'This security key is suspended because it may have been cloned. Contact an administrator.'],
  synced_not_allowed: [403, 'SYNCED_PASSKEY_NOT_ALLOWED', 'Synced passkeys are not accepted here. Use a hardware security key.'],
} as const satisfies Record<AssertionFailure, Refusal>;

const REGISTRATION_REFUSALS = {
  ...VERIFICATION_REFUSALS,
  already_registered: [409, 'CONFLICT', 'This security key is already registered.'],
  synced_not_allowed: [403, 'SYNCED_PASSKEY_NOT_ALLOWED', 'Synced passkeys cannot be registered. Use a hardware security key.'],
  not_attested: [
    403,
    'KEY_NOT_ATTESTED',
    "This key could not prove it is a certified security key: its maker's attestation did not verify against the FIDO Metadata Service. Use a FIDO-certified hardware key, or ask an administrator.",
  ],
  key_model_compromised: [
    403,
    'KEY_MODEL_COMPROMISED',
    'The FIDO Metadata Service reports this key model as compromised, so it cannot be registered. Use another security key.',
  ],
} as const satisfies Record<RegistrationFailure, Refusal>;

export function assertionError(reason: AssertionFailure): HttpError {
  return refusalFor(ASSERTION_REFUSALS, reason);
}

export function registrationError(reason: RegistrationFailure): HttpError {
  return refusalFor(REGISTRATION_REFUSALS, reason);
}
