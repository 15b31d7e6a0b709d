import { action, json } from '@solidjs/router';
import type { CompanySignInStep, FirstKeyResponse } from '../../shared/api.ts';
import { listUsers } from './admin.ts';
import { request } from './http.ts';
import { registrationCeremony } from './keyCeremonies.ts';
import { withStepUp } from './stepUp.ts';

/** Where the company sign-in starts: a full-page navigation to the provider, through Argus. */
export function companySignInHref(next: string): string {
  return next === '/' ? '/api/auth/oidc/start' : `/api/auth/oidc/start?next=${encodeURIComponent(next)}`;
}

/** GET /api/auth/oidc/step: what this browser does next after the provider answered. */
export function fetchCompanySignInStep(): Promise<CompanySignInStep> {
  return request<CompanySignInStep>('GET', '/api/auth/oidc/step');
}

/** POST /api/auth/oidc/first-key/options, a touch of the new key, POST /api/auth/oidc/first-key. */
export const registerFirstKey = action(async (nickname: string) => {
  const step = await registrationCeremony<FirstKeyResponse>('/api/auth/oidc/first-key', nickname);
  return json(step, { revalidate: [] });
}, 'registerFirstKey');

/** POST /api/admin/users/:id/company-sign-in: the next company sign-in under this username links to the account. */
export const allowCompanySignIn = action(async (id: string) => {
  await withStepUp(() => request<void>('POST', `/api/admin/users/${encodeURIComponent(id)}/company-sign-in`));
  return json({ allowed: id }, { revalidate: listUsers.key });
}, 'allowCompanySignIn');

/** DELETE /api/admin/users/:id/company-sign-in: linked identities and any allowance go; sessions that began with them end. */
export const removeCompanySignIn = action(async (id: string) => {
  await withStepUp(() => request<void>('DELETE', `/api/admin/users/${encodeURIComponent(id)}/company-sign-in`));
  return json({ removed: id }, { revalidate: listUsers.key });
}, 'removeCompanySignIn');
