/**
 * Helpers for the company sign-in tests: raw redirects with a TestClient's cookie, and the
 * whole dance start → provider → callback. Test-only (imported by *.test.ts files).
 */
import type { CompanySignInStep, FirstKeyResponse, StepResponse } from '../../shared/api.ts';
import type { TestClient, TestNode } from './harness.ts';
import type { ProviderBrowser, TestProvider } from './oidcProvider.ts';
import type { SoftAuthenticator } from './softAuthenticator.ts';

/** A GET whose answer is a redirect (the body is not JSON): the status and where it points; the client's cookie follows. */
export async function getRedirect(client: TestClient, path: string): Promise<{ status: number; location: URL | null; cacheControl: string | null }> {
  const response = await fetch(client.baseUrl + path, { headers: client.cookie ? { cookie: client.cookie } : {}, redirect: 'manual' });
  const setCookie = response.headers.get('set-cookie');
  if (setCookie) {
    const pair = setCookie.split(';')[0]!;
    client.cookie = /=$/.test(pair) || /Expires=Thu, 01 Jan 1970/i.test(setCookie) ? null : pair;
  }
  await response.arrayBuffer();
  const location = response.headers.get('location');
  return { status: response.status, location: location ? new URL(location, client.origin) : null, cacheControl: response.headers.get('cache-control') };
}

/** The provider's answer, as a path on the Argus node (the redirect URI names the public origin). */
export function callbackPath(callback: URL): string {
  return callback.pathname + callback.search;
}

/** start → the provider's login as `sub` → the provider's callback URL (not yet sent to Argus). */
export async function authorizeAt(client: TestClient, browser: ProviderBrowser, sub: string, next?: string): Promise<URL> {
  const start = await getRedirect(client, `/api/auth/oidc/start${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  if (start.status !== 303 || !start.location) throw new Error(`start answered ${start.status}`);
  return browser.authorize(start.location.href, sub);
}

/**
 * A whole company sign-in up to the sign-in page: answers where the callback sent the browser
 * (`/signin?oidc=continue` or `/signin?oidc_error=CODE`).
 */
export async function companySignIn(
  node: TestNode,
  provider: TestProvider,
  sub: string,
  { client = node.client(), browser = provider.browser() }: { client?: TestClient; browser?: ProviderBrowser } = {},
): Promise<{ client: TestClient; browser: ProviderBrowser; landing: URL }> {
  const callback = await authorizeAt(client, browser, sub);
  const answer = await getRedirect(client, callbackPath(callback));
  if (answer.status !== 303 || !answer.location) throw new Error(`callback answered ${answer.status}`);
  return { client, browser, landing: answer.location };
}

export function landingError(landing: URL): string | null {
  return landing.searchParams.get('oidc_error');
}

/** The key step after a company sign-in: one of the user's own keys. */
export async function touchKey(client: TestClient, authenticator: SoftAuthenticator) {
  const options = await client.post<{ options: { challenge: string } }>('/api/auth/key/options');
  if (options.status !== 200) return options as unknown as Awaited<ReturnType<TestClient['post']>> & { body: StepResponse };
  return client.post<StepResponse>('/api/auth/key', { response: authenticator.assert(options.body.options) });
}

/** The first-key step: registers `authenticator`'s new credential. */
export async function registerKeyAfterCompanySignIn(client: TestClient, authenticator: SoftAuthenticator) {
  const options = await client.post<{ options: { challenge: string } }>('/api/auth/oidc/first-key/options');
  if (options.status !== 200) throw new Error(`first-key options answered ${options.status}: ${JSON.stringify(options.body)}`);
  return client.post<FirstKeyResponse>('/api/auth/oidc/first-key', { response: authenticator.register(options.body.options), nickname: 'first key' });
}

export async function stepOf(client: TestClient): Promise<CompanySignInStep> {
  return (await client.get<CompanySignInStep>('/api/auth/oidc/step')).body;
}
