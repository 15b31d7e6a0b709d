/**
 * Argus as an OpenID Connect relying party (issue #20), on openid-client (panva): discovery,
 * the authorization request (code flow, PKCE S256, state, nonce), the callback's validation,
 * RP-initiated logout, and the verification of back-channel logout tokens (jose, against the
 * provider's JWKS). Nothing here reads the session or the database: server/oidc/* does.
 */
import { timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import * as openid from 'openid-client';
import type { Logger } from '../log.ts';
import type { OidcConfig } from './oidcConfig.ts';

/** What a started sign-in keeps in this browser's session until the provider answers (single use). */
export interface OidcFlow {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** ms since epoch: the provider must answer within FLOW_TTL_MS. */
  startedAt: number;
  /** Where to go once signed in (an in-app path, checked when it was asked for). */
  next: string | null;
}

/** The provider must answer within this long of the start (the person types a password, maybe a second factor). */
export const FLOW_TTL_MS = 10 * 60_000;

/** After a failed discovery, the next request tries again, but not sooner than this. */
const DISCOVERY_RETRY_MS = 10_000;

/** Each request to the provider gives up after this long (openid-client's default is 30 s). */
const PROVIDER_TIMEOUT_SECONDS = 10;

/**
 * Back-Channel Logout 1.0 §2.4: the member of `events` that makes a JWT a logout token. A
 * logout token is refused when it is too old (by `iat`); its `jti` is remembered at least as long.
 */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
export const LOGOUT_TOKEN_MAX_AGE_SECONDS = 300;
/** Clock difference tolerated between Argus and the provider, in seconds (openid-client's default too). */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** The claims of a validated ID token Argus uses; the rest (groups, names) are read by name. */
export type IdTokenClaims = openid.IDToken;

/** Why the provider's answer was refused. */
export type CallbackFailure =
  /** The answer is not for the sign-in this browser started (state), or that one expired. */
  | 'state_invalid'
  /** The provider answered with an error (access_denied …) or refused the code (invalid_grant: used, expired). */
  | 'provider_error'
  /** The ID token failed validation: signature, iss, aud, exp/iat, nonce, azp. */
  | 'token_invalid'
  /** The provider could not be reached, or answered with a server error. */
  | 'unavailable';

export type CallbackResult = { ok: true; claims: IdTokenClaims } | { ok: false; reason: CallbackFailure; detail: string };

export type LogoutTokenResult =
  | { ok: true; jti: string; subject: string | null; providerSid: string | null; issuer: string }
  /** `signed`: the signature verified (so the provider really sent something wrong, or it is a replay). */
  | { ok: false; reason: string; signed: boolean };

/** The provider could not be discovered: the company sign-in button answers OIDC_UNAVAILABLE until it can. */
export class OidcUnavailableError extends Error {
  override name = 'OidcUnavailableError';
}

/** Constant-time comparison of two strings (state values). */
function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** openid-client's error codes for an answer that never came or was not the provider's protocol at all. */
const UNAVAILABLE_CODES = new Set(['OAUTH_TIMEOUT', 'OAUTH_ABORT', 'OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_RESPONSE_IS_NOT_JSON']);

function classify(error: unknown): { reason: CallbackFailure; detail: string } {
  if (error instanceof openid.AuthorizationResponseError) return { reason: 'provider_error', detail: `authorization error ${error.error}` };
  if (error instanceof openid.ResponseBodyError) return { reason: 'provider_error', detail: `token endpoint ${error.status} ${error.error}` };
  // fetch's own failure (connection refused, DNS): a TypeError.
  if (error instanceof TypeError) return { reason: 'unavailable', detail: error.message };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return { reason: 'unavailable', detail: code };
  const cause = (error as { cause?: { message?: unknown } }).cause?.message;
  return { reason: 'token_invalid', detail: `${String((error as Error).message)}${typeof cause === 'string' ? `: ${cause}` : ''}`.slice(0, 300) };
}

export class OidcRelyingParty {
  private discovered: Promise<openid.Configuration> | null = null;
  private failedAt = 0;
  private jwks: ReturnType<typeof createRemoteJWKSet> | null = null;

  constructor(
    readonly config: OidcConfig,
    private readonly log: Logger,
  ) {}

  /**
   * The provider's configuration, discovered once. A provider that cannot be reached never
   * stops Argus (passwords keep working): start() logs it, and each later use tries again,
   * at most every DISCOVERY_RETRY_MS, until it answers.
   */
  configuration(): Promise<openid.Configuration> {
    if (this.discovered) return this.discovered;
    if (Date.now() - this.failedAt < DISCOVERY_RETRY_MS) return Promise.reject(new OidcUnavailableError('the provider could not be discovered; retrying soon'));
    const { issuer, clientId, clientSecret } = this.config;
    const url = new URL(issuer);
    const attempt = openid
      .discovery(url, clientId, clientSecret, openid.ClientSecretBasic(clientSecret), {
        timeout: PROVIDER_TIMEOUT_SECONDS,
        // http:// only ever for a provider on this machine (oidcConfig.ts refuses it elsewhere).
        ...(url.protocol === 'http:' ? { execute: [openid.allowInsecureRequests] } : {}),
      })
      .then((configuration) => {
        // The ID token's signature is checked against the provider's JWKS too, not only trusted
        // because it came over TLS from the token endpoint (OIDC Core §3.1.3.7 allows either).
        openid.enableNonRepudiationChecks(configuration);
        this.log.info({ issuer, endSession: Boolean(configuration.serverMetadata().end_session_endpoint) }, 'company sign-in: provider discovered');
        return configuration;
      })
      .catch((error: unknown) => {
        this.discovered = null;
        this.failedAt = Date.now();
        this.log.error({ issuer, err: (error as Error).message }, 'company sign-in: the provider could not be discovered (OIDC_ISSUER); retrying on the next sign-in');
        throw new OidcUnavailableError('the provider could not be discovered');
      });
    this.discovered = attempt;
    return attempt;
  }

  /** Discovery at start-up, so a wrong OIDC_ISSUER shows in the log at once; never throws. */
  start(): void {
    this.configuration().catch(() => undefined);
  }

  /** A new authorization request: where to send the browser, and what to keep until the answer. */
  async authorizationRequest(next: string | null): Promise<{ url: URL; flow: OidcFlow }> {
    const configuration = await this.configuration();
    const codeVerifier = openid.randomPKCECodeVerifier();
    const flow: OidcFlow = { state: openid.randomState(), nonce: openid.randomNonce(), codeVerifier, startedAt: Date.now(), next };
    const url = openid.buildAuthorizationUrl(configuration, {
      redirect_uri: this.config.redirectUri,
      scope: this.config.scopes.join(' '),
      code_challenge: await openid.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    return { url, flow };
  }

  /**
   * Validates the provider's answer against the flow this browser started: state (here, and
   * again by openid-client), then the code exchange with the PKCE verifier, then the ID token
   * (signature by the provider's JWKS, iss, aud, azp, exp, iat, nonce). `query` is the
   * callback's raw query string; the URL is rebuilt from the configured redirect URI, never
   * from the request's Host header.
   */
  async completeAuthorization(query: string, flow: OidcFlow): Promise<CallbackResult> {
    const callbackUrl = new URL(this.config.redirectUri);
    callbackUrl.search = query;
    const state = callbackUrl.searchParams.get('state');
    if (!state || !sameText(state, flow.state)) return { ok: false, reason: 'state_invalid', detail: state ? 'state does not match' : 'no state' };
    if (Date.now() - flow.startedAt > FLOW_TTL_MS) return { ok: false, reason: 'state_invalid', detail: 'sign-in started too long ago' };
    let configuration: openid.Configuration;
    try {
      configuration = await this.configuration();
    } catch {
      return { ok: false, reason: 'unavailable', detail: 'discovery failed' };
    }
    try {
      const tokens = await openid.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) return { ok: false, reason: 'token_invalid', detail: 'no ID token' };
      return { ok: true, claims };
    } catch (error) {
      return { ok: false, ...classify(error) };
    }
  }

  /**
   * RP-initiated logout: the provider's end-session URL for the browser, when
   * OIDC_POST_LOGOUT_REDIRECT is set and the provider has an end_session_endpoint. It names
   * the client, never an ID token: no token travels in a URL.
   */
  async endSessionUrl(): Promise<string | null> {
    if (!this.config.postLogoutRedirect) return null;
    const configuration = await this.configuration().catch(() => null);
    if (!configuration?.serverMetadata().end_session_endpoint) return null;
    return openid.buildEndSessionUrl(configuration, { client_id: this.config.clientId, post_logout_redirect_uri: this.config.postLogoutRedirect }).href;
  }

  /**
   * Back-Channel Logout 1.0 §2.6: the logout token's signature against the provider's JWKS,
   * `iss`, `aud`, `iat` (at most LOGOUT_TOKEN_MAX_AGE_SECONDS old), `exp` when present, a
   * `jti`, the back-channel logout member of `events`, `sub` (Argus finds the account by it),
   * and no `nonce` (so an ID token cannot pass for one). Single use of `jti` is the caller's.
   */
  async verifyLogoutToken(token: string): Promise<LogoutTokenResult> {
    let configuration: openid.Configuration;
    try {
      configuration = await this.configuration();
    } catch {
      return { ok: false, reason: 'provider_unavailable', signed: false };
    }
    const metadata = configuration.serverMetadata();
    if (!metadata.jwks_uri) return { ok: false, reason: 'no_jwks_uri', signed: false };
    this.jwks ??= createRemoteJWKSet(new URL(metadata.jwks_uri), { timeoutDuration: PROVIDER_TIMEOUT_SECONDS * 1000 });
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: metadata.issuer,
        audience: this.config.clientId,
        // Asymmetric signatures only: a MAC under the client secret, or none, proves nothing of the provider.
        algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'],
        maxTokenAge: LOGOUT_TOKEN_MAX_AGE_SECONDS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['iat', 'jti', 'events'],
      }));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return { ok: false, reason: typeof code === 'string' ? code : 'unverifiable', signed: code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' || code === 'ERR_JWT_EXPIRED' };
    }
    const events = payload.events;
    const event = typeof events === 'object' && events !== null && !Array.isArray(events) ? (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT] : undefined;
    if (typeof event !== 'object' || event === null || Array.isArray(event)) return { ok: false, reason: 'not_a_logout_event', signed: true };
    if ('nonce' in payload) return { ok: false, reason: 'nonce_present', signed: true };
    const subject = typeof payload.sub === 'string' && payload.sub ? payload.sub : null;
    const providerSid = typeof payload.sid === 'string' && payload.sid ? payload.sid : null;
    if (!subject) return { ok: false, reason: providerSid ? 'sub_required' : 'no_sub_or_sid', signed: true };
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256) return { ok: false, reason: 'bad_jti', signed: true };
    return { ok: true, jti: payload.jti, subject, providerSid, issuer: metadata.issuer };
  }
}
