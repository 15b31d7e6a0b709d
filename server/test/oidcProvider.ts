/**
 * A real OpenID Provider for the tests (issue #20): panva's oidc-provider on a local port, with
 * one confidential client for Argus (PKCE required, back-channel logout registered), users
 * with a groups claim, and a browser-like driver that completes its (development) login
 * interaction over HTTP with cookies. Nothing here is a hand-written fake of the protocol.
 *
 * The provider's signing key is made here, so a test can also sign a token with the provider's
 * very key (a logout token, a tampered ID token) to reach checks a well-behaved provider never
 * trips. Logout tokens the provider sends pass through a recorder on their way to the Argus
 * node the test names, so a test can replay one.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import Provider, { type Configuration } from 'oidc-provider';
import type { Env } from '../config.ts';
import { freePort } from './env.ts';

/** The tests' Argus origin (harness.ts TEST_ORIGIN; not imported: the browser tests load this file outside vitest). */
const DEFAULT_REDIRECT_URI = 'http://argus.test/api/auth/oidc/callback';

export interface TestIdentity {
  preferred_username?: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
}

export const TEST_CLIENT_ID = 'argus';
export const TEST_CLIENT_SECRET = 'argus-test-client-secret-0123456789';

export interface TestProvider {
  issuer: string;
  /** sub → claims; change a user's groups between sign-ins to see them re-applied. */
  users: Map<string, TestIdentity>;
  /** The OIDC_* environment of an Argus node that signs in through this provider. */
  env(extra?: Env): Env;
  /** A new "browser" at the provider (its own cookie jar: its own provider session). */
  browser(): ProviderBrowser;
  /** Signs claims as a JWT with the provider's own key (or, with `foreignKey`, a key it never published). */
  sign(claims: JWTPayload, options?: { foreignKey?: boolean; typ?: string }): Promise<string>;
  /** Logout tokens the provider sent, oldest first, and the status Argus answered each with. */
  logoutDeliveries: Array<{ token: string; status: number }>;
  /** Where the recorder forwards the provider's back-channel logout POSTs (an Argus node's URL). */
  forwardLogoutTo(url: string): void;
  close(): Promise<void>;
}

/** Drives the provider's pages like a browser would: follows redirects by hand, keeps cookies. */
export class ProviderBrowser {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly issuer: string) {}

  private async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(new URL(url, this.issuer), { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (!value || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  private form(url: string, fields: Record<string, string>): Promise<Response> {
    return this.fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  }

  /**
   * Follows an authorization request to its answer at Argus's redirect URI, signing in as
   * `sub` at the provider's login page when it asks (a provider session skips it). Answers
   * the callback URL the provider sent the browser to.
   */
  async authorize(authorizationUrl: string, sub: string): Promise<URL> {
    let response = await this.fetch(authorizationUrl);
    for (let hops = 0; hops < 10; hops += 1) {
      const location = response.headers.get('location');
      if (!location) throw new Error(`the provider answered ${response.status} without a redirect: ${(await response.text()).slice(0, 300)}`);
      const next = new URL(location, this.issuer);
      if (!next.href.startsWith(this.issuer)) return next;
      if (/\/interaction\/[^/]+$/.test(next.pathname)) {
        const page = await this.fetch(next.href);
        const html = await page.text();
        const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1] ?? 'login';
        response = await this.form(next.href, prompt === 'login' ? { prompt, login: sub, password: 'any password' } : { prompt });
      } else {
        response = await this.fetch(next.href);
      }
    }
    throw new Error('too many redirects at the provider');
  }

  /** RP-initiated logout at the provider, confirmed: it sends back-channel logout tokens before answering. */
  async signOutAtProvider(): Promise<void> {
    const page = await this.fetch(`${this.issuer}/session/end?client_id=${TEST_CLIENT_ID}`);
    const html = await page.text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
    if (!xsrf) throw new Error(`no logout form at the provider: ${html.slice(0, 300)}`);
    const done = await this.form(`${this.issuer}/session/end/confirm`, { xsrf, logout: 'yes' });
    if (done.status >= 400) throw new Error(`provider logout failed: ${done.status}`);
  }
}

export async function startTestProvider(
  { users = {}, redirectUri = DEFAULT_REDIRECT_URI }: { users?: Record<string, TestIdentity>; redirectUri?: string } = {},
): Promise<TestProvider> {
  // The recorder: the provider's back-channel logout goes through it to the Argus node a test names.
  const logoutDeliveries: TestProvider['logoutDeliveries'] = [];
  let logoutTarget: string | null = null;
  const recorder = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const token = new URLSearchParams(body).get('logout_token') ?? '';
      const target = logoutTarget;
      if (!target) {
        logoutDeliveries.push({ token, status: 503 });
        return void res.writeHead(503).end();
      }
      fetch(`${target}/api/auth/oidc/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }).then(
        async (answer) => {
          logoutDeliveries.push({ token, status: answer.status });
          res.writeHead(answer.status).end(await answer.text());
        },
        () => {
          logoutDeliveries.push({ token, status: 502 });
          res.writeHead(502).end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
  const recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingJwk: JWK = { ...(await exportJWK(privateKey)), kid: 'test-provider-key', alg: 'RS256', use: 'sig' };
  const stranger = (await generateKeyPair('RS256', { extractable: true })).privateKey;

  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const identities = new Map(Object.entries(users));
  const configuration: Configuration = {
    clients: [
      {
        client_id: TEST_CLIENT_ID,
        client_secret: TEST_CLIENT_SECRET,
        redirect_uris: [redirectUri],
        post_logout_redirect_uris: [`${new URL(redirectUri).origin}/signin`],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
        backchannel_logout_uri: `${recorderUrl}/backchannel-logout`,
        backchannel_logout_session_required: true,
      },
    ],
    jwks: { keys: [signingJwk as never] },
    cookies: { keys: ['test-provider-cookie-key-0123456789'] },
    // Every client must use PKCE (issue #20), and only S256.
    pkce: { required: () => true },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    // The claims go into the ID token, where Argus reads them (as Entra ID, Okta and Keycloak put them).
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    findAccount: (_ctx, sub) => {
      const identity = identities.get(sub);
      if (!identity) return undefined;
      return { accountId: sub, claims: () => ({ sub, ...identities.get(sub) }) };
    },
    // A first-party client: consent is given, as a company's own provider would have it.
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid profile email groups');
      await grant.save();
      return grant;
    },
    // The provider guards its outgoing requests against loopback addresses; here Argus is on one.
    fetch: (url, init) => {
      const { dispatcher: _dispatcher, ...options } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
      return globalThis.fetch(url, options);
    },
    renderError: (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  };
  const provider = new Provider(issuer, configuration);
  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  return {
    issuer,
    users: identities,
    env: (extra = {}) => ({
      OIDC_ISSUER: issuer,
      OIDC_CLIENT_ID: TEST_CLIENT_ID,
      OIDC_CLIENT_SECRET: TEST_CLIENT_SECRET,
      OIDC_SCOPES: 'openid profile email groups',
      OIDC_DISPLAY_NAME: 'Test IdP',
      ...extra,
    }),
    browser: () => new ProviderBrowser(issuer),
    async sign(claims, { foreignKey = false, typ = 'JWT' } = {}) {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid!, typ })
        .sign(foreignKey ? stranger : privateKey);
    },
    logoutDeliveries,
    forwardLogoutTo(url) {
      logoutTarget = url;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => recorder.close(() => resolve()));
    },
  };
}
