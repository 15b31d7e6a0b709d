import { action, json, query } from '@solidjs/router';
import type { SessionResponse, SignInMethodsResponse, SignInRequest, SignOutResponse, StepResponse } from '../../shared/api.ts';
import { request } from './http.ts';
import { assertionCeremony } from './keyCeremonies.ts';

/** GET /api/session: the probe that tells whether this browser is signed in. */
export function fetchSession(): Promise<SessionResponse> {
  return request<SessionResponse>('GET', '/api/session', { sessionProbe: true });
}

/**
 * GET /api/auth/methods: the first factors this server offers. When it cannot be asked, the
 * password form shows, and its own answer says what is wrong.
 */
export const getSignInMethods = query(async (): Promise<SignInMethodsResponse> => {
  try {
    return await request<SignInMethodsResponse>('GET', '/api/auth/methods');
  } catch {
    return { password: true, company: null };
  }
}, 'signInMethods');

/** POST /api/auth/signin: the password step. */
export const signIn = action(async (credentials: SignInRequest) => {
  const step = await request<StepResponse>('POST', '/api/auth/signin', { body: credentials });
  // No cached data belongs to the signed-out visitor; the session is refreshed by the caller.
  return json(step, { revalidate: [] });
}, 'signIn');

/**
 * POST /api/auth/key/options, a touch of one of the user's keys, POST /api/auth/key: the
 * security-key step, after the password step answered `{ next: 'security_key' }`.
 */
export const signInWithKey = action(async () => {
  const step = await assertionCeremony<StepResponse>('/api/auth/key');
  return json(step, { revalidate: [] });
}, 'signInWithKey');

/**
 * POST /api/auth/signout. A plain call rather than an action: revalidating the open page's
 * queries after signing out would only fetch 401s.
 */
export function signOut(): Promise<SignOutResponse | undefined> {
  // A body only after a company sign-in with RP-initiated logout configured (OIDC_POST_LOGOUT_REDIRECT).
  return request<SignOutResponse | undefined>('POST', '/api/auth/signout');
}
