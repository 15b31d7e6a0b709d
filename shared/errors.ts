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
  'ACCOUNT_DISABLED',
  'ENROLLMENT_INVALID',
  'WEAK_PASSWORD',
  'LAST_ADMIN',
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
  'STEP_UP_REQUIRED',
  'LAST_KEY',
  // Model access.
  'GRANT_REQUIRED',
  'GRANT_CHECK_UNAVAILABLE',
  'HARDWARE_KEY_REQUIRED',
  'USER_VERIFICATION_REQUIRED',
  'MODEL_NOT_FOUND',
  'MODEL_UNREACHABLE',
  'MODEL_ERROR',
  'MODEL_TIMEOUT',
  'MODEL_BAD_RESPONSE',
  'TOO_MANY_STREAMS',
  // Detectors.
  'PAIRING_CODE_INVALID',
  'DETECTOR_UNAUTHORIZED',
  'INTERNAL',
  // Input limits.
  'JSON_TOO_DEEP',
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
