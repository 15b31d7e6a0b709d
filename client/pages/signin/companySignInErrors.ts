import type { ErrorCode } from '../../../shared/errors.ts';

/**
 * What the sign-in page says for each code a company sign-in can come back with
 * (`/signin?oidc_error=CODE`, from server/routes/oidc.ts). The page has only the code: the
 * provider's answer never reaches the browser's address bar.
 */
const MESSAGES: Partial<Record<ErrorCode, string>> = {
  OIDC_STATE_INVALID: 'That company sign-in expired, or was started in another tab. Try again.',
  OIDC_PROVIDER_ERROR: 'Your company account did not sign you in (it was cancelled or refused). Try again.',
  OIDC_TOKEN_INVALID:
    'Argus could not verify the answer of your company account provider. Try again; if it keeps happening, tell an administrator.',
  OIDC_UNAVAILABLE: 'Your company account provider cannot be reached right now. Try again in a few minutes.',
  OIDC_NO_ACCOUNT: 'No Argus account is linked to your company account. Ask an administrator to create or link one.',
  OIDC_USERNAME_INVALID: 'Your company account gives no username Argus can use. Ask an administrator.',
  OIDC_USERNAME_TAKEN:
    'An Argus account with your username exists but is not linked to your company account. Ask an administrator to link it.',
  OIDC_LINK_EXPIRED:
    "Your administrator's permission to link your company account has expired. Ask them to allow it again.",
  OIDC_NOT_CONFIGURED: 'Company sign-in is not set up on this server.',
  ACCOUNT_DISABLED: 'This account is disabled. Contact an administrator.',
  NO_ACTIVE_KEY: 'Your account has no active security key. Ask an administrator for a new enrollment link.',
  KEY_PENDING_APPROVAL: 'Your security key waits for an administrator to approve it. Sign in again once they have.',
  RATE_LIMITED: 'Too many sign-in attempts. Wait a minute and try again.',
  SERVICE_UNAVAILABLE: 'Argus cannot complete sign-in right now. Try again in a moment.',
};

export function companySignInError(code: string): string {
  return MESSAGES[code as ErrorCode] ?? 'Company sign-in did not complete. Try again.';
}
