/**
 * Every error Argus answers with, on the wire. The `code` is stable and meant for
 * programs; the `message` is for people and may change.
 */
export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'MALFORMED_JSON',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'CSRF_REJECTED',
  'UNAUTHENTICATED',
  'SESSION_ENDED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'SERVER_BUSY',
  'SERVICE_UNAVAILABLE',
  'INVALID_CREDENTIALS',
  // PASSWORD_SIGNIN=false: passwords are for break-glass admins only; everyone else uses company sign-in.
  'PASSWORD_SIGNIN_DISABLED',
  'ACCOUNT_DISABLED',
  'ENROLLMENT_INVALID',
  'WEAK_PASSWORD',
  'LAST_ADMIN',
  // The two-person rule (threat model G9): approving one's own change; a change already decided,
  // past its 24 h, or whose target changed since it was asked.
  'SELF_APPROVAL',
  'PENDING_CHANGE_CLOSED',
  'PENDING_CHANGE_EXPIRED',
  'PENDING_CHANGE_STALE',
  // Security keys (WebAuthn).
  'NO_ACTIVE_KEY',
  'WRONG_STEP',
  'CHALLENGE_INVALID',
  'WEBAUTHN_FAILED',
  'KEY_UNKNOWN',
  'KEY_MISMATCH',
  'KEY_INACTIVE',
  'KEY_SUSPENDED',
  'SYNCED_PASSKEY_NOT_ALLOWED',
  // FIDO metadata (ATTESTATION_POLICY): a key whose maker's attestation did not verify; a key model reported compromised.
  'KEY_NOT_ATTESTED',
  'KEY_MODEL_COMPROMISED',
  'STEP_UP_REQUIRED',
  'LAST_KEY',
  // Model access.
  'GRANT_REQUIRED',
  'GRANT_CHECK_UNAVAILABLE',
  // A restricted conversation whose stored ciphertext does not open (moved between rows, altered,
  // or its key-encryption key is no longer configured): never shown as garbage (issue #21).
  'CONVERSATION_UNREADABLE',
  'HARDWARE_KEY_REQUIRED',
  'USER_VERIFICATION_REQUIRED',
  'MODEL_NOT_FOUND',
  'MODEL_UNREACHABLE',
  'MODEL_ERROR',
  'MODEL_TIMEOUT',
  'MODEL_BAD_RESPONSE',
  // A model server's address inside Argus's network, not in MODEL_HOST_ALLOWLIST; a redirect from one.
  'MODEL_HOST_FORBIDDEN',
  'MODEL_REDIRECT_REFUSED',
  'TOO_MANY_STREAMS',
  // Detectors.
  'PAIRING_CODE_INVALID',
  'DETECTOR_UNAUTHORIZED',
  'INTERNAL',
  // Input limits.
  'JSON_TOO_DEEP',
  // Company sign-in (OIDC, issue #20): not configured; the provider cannot be reached; the
  // answer does not belong to a sign-in this browser started (state), or was used already;
  // the provider said no; its tokens did not validate (signature, iss, aud, exp, nonce); no
  // account is linked and none may be made; an admin's leave to link an existing account ran
  // out (OIDC_LINK_ALLOWANCE_HOURS); the username claim is missing, unusable or taken.
  'OIDC_NOT_CONFIGURED',
  'OIDC_UNAVAILABLE',
  'OIDC_STATE_INVALID',
  'OIDC_PROVIDER_ERROR',
  'OIDC_TOKEN_INVALID',
  'OIDC_NO_ACCOUNT',
  'OIDC_LINK_EXPIRED',
  'OIDC_USERNAME_INVALID',
  'OIDC_USERNAME_TAKEN',
  // A first key registered after company sign-in that an admin has not approved yet.
  'KEY_PENDING_APPROVAL',
  // Back-Channel Logout 1.0: a logout token that does not validate, or one seen before.
  'LOGOUT_TOKEN_INVALID',
  'LOGOUT_TOKEN_REPLAYED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** One field that failed validation: a dotted path and what was wrong with it. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** The single JSON shape of every error response. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    requestId?: string;
    issues?: FieldIssue[];
    /** Seconds until a rate-limited request may be retried (also sent as Retry-After). */
    retryAfter?: number;
    /**
     * GRANT_REQUIRED on GET /api/conversations/:id: the locked conversation's metadata (no
     * title, no messages), so the page can show what it is and offer the unlock.
     */
    conversation?: import('./api/conversations.ts').ConversationView;
  };
}

export function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const error = (value as { error?: unknown }).error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}
