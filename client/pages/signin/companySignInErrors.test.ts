import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../shared/errors.ts';
import { companySignInError } from './companySignInErrors.ts';

describe('company sign-in errors', () => {
  const fallback = companySignInError('NOT_A_CODE');

  it('has its own wording for every company sign-in code (OIDC_*), not the fallback', () => {
    const oidcCodes = ERROR_CODES.filter((code) => code.startsWith('OIDC_'));
    expect(oidcCodes.length).toBeGreaterThan(0);
    for (const code of oidcCodes) expect({ code, message: companySignInError(code) }).not.toEqual({ code, message: fallback });
  });

  it('tells an expired link permission apart from a missing account', () => {
    expect(companySignInError('OIDC_LINK_EXPIRED')).toMatch(/expired/);
    expect(companySignInError('OIDC_LINK_EXPIRED')).not.toEqual(companySignInError('OIDC_NO_ACCOUNT'));
  });
});
