/**
 * Company sign-in's settings (issue #20; README "Company sign-in"): the OIDC_* variables as a
 * zod shape that server/config.ts spreads into its schema, and the checks across them, made
 * once at start-up. Whether the provider answers is not checked here (server/oidc/relyingParty.ts
 * discovers it, and keeps trying, after start).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export interface OidcConfig {
  /** The issuer identifier: discovery reads `<issuer>/.well-known/openid-configuration`, and every ID token's `iss` must equal it. */
  issuer: string;
  clientId: string;
  /** Sent to the token endpoint (client_secret_basic); never logged. */
  clientSecret: string;
  /** Always includes `openid`. */
  scopes: string[];
  /** The button says "Sign in with <displayName>". */
  displayName: string;
  /** `<origin>/api/auth/oidc/callback`: register exactly this at the provider. */
  redirectUri: string;
  /** Claims tried in order for the Argus username: the one configured, or preferred_username then email. */
  usernameClaims: string[];
  groupsClaim: string;
  /**
   * Groups that make an admin or an auditor; everyone else is a user. Both empty: roles are
   * managed in Argus and the provider's groups are not read.
   */
  adminGroups: string[];
  auditorGroups: string[];
  /** existing: only accounts an admin linked; jit: the first company sign-in creates the account. */
  provisioning: 'existing' | 'jit';
  /** self: a provider user with no key registers one at once; approval: the key waits for an admin. */
  firstKey: 'self' | 'approval';
  /** Where the provider sends the browser after RP-initiated logout; null: signing out of Argus stays local. */
  postLogoutRedirect: string | null;
  /** How long an admin's allowance to link an existing account stays usable (oidc_link_allowance), in hours. */
  linkAllowanceHours: number;
}

/**
 * An unused allowance is a standing offer: whoever the provider names with that username, even
 * months later (a reassigned email, a renamed account), would take the account. Three days
 * cover a weekend between the admin's click and the user's first sign-in.
 */
export const DEFAULT_LINK_ALLOWANCE_HOURS = 72;

/** Exactly the redirect URI path Argus serves (server/routes/oidc.ts). */
export const OIDC_CALLBACK_PATH = '/api/auth/oidc/callback';

const list = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));

/** The OIDC variables, spread into server/config.ts's schema (README "Company sign-in" describes each). */
export const OIDC_ENV = {
  OIDC_ISSUER: z.url({ protocol: /^https?$/ }).optional(),
  OIDC_CLIENT_ID: z.string().min(1).max(255).optional(),
  OIDC_CLIENT_SECRET: z.string().min(1).max(4096).optional(),
  OIDC_CLIENT_SECRET_FILE: z.string().min(1).optional(),
  // Space-separated, as OAuth writes scopes.
  OIDC_SCOPES: z
    .string()
    .regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/, 'space-separated scope names (RFC 6749 §3.3)')
    .default('openid profile email'),
  OIDC_DISPLAY_NAME: z.string().trim().min(1).max(40).default('company account'),
  OIDC_USERNAME_CLAIM: z.string().regex(/^[\w.:/-]{1,100}$/, 'a claim name').optional(),
  OIDC_GROUPS_CLAIM: z.string().regex(/^[\w.:/-]{1,100}$/, 'a claim name').default('groups'),
  OIDC_ADMIN_GROUPS: list.optional(),
  OIDC_AUDITOR_GROUPS: list.optional(),
  OIDC_PROVISIONING: z.enum(['existing', 'jit']).default('existing'),
  OIDC_FIRST_KEY: z.enum(['self', 'approval']).default('approval'),
  OIDC_POST_LOGOUT_REDIRECT: z.url({ protocol: /^https?$/ }).optional(),
  // 1 hour to 14 days, as ENROLLMENT_TTL_HOURS.
  OIDC_LINK_ALLOWANCE_HOURS: z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(24 * 14))
    .default(DEFAULT_LINK_ALLOWANCE_HOURS),
};

const oidcEnvSchema = z.object(OIDC_ENV);
type OidcEnv = z.output<typeof oidcEnvSchema>;

/** Loopback hosts, where a development or test provider may speak plain HTTP. */
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

/**
 * The company sign-in settings, or null when OIDC_ISSUER is unset (then no other OIDC_ variable
 * may be set: a half configuration is a mistake, not a choice).
 */
export function oidcFromEnv(e: OidcEnv, origin: string, invalid: (message: string) => Error): OidcConfig | null {
  if (!e.OIDC_ISSUER) {
    const stray = (['OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_CLIENT_SECRET_FILE', 'OIDC_ADMIN_GROUPS', 'OIDC_AUDITOR_GROUPS', 'OIDC_POST_LOGOUT_REDIRECT'] as const).find(
      (name) => e[name] !== undefined,
    );
    if (stray) throw invalid(`${stray}: needs OIDC_ISSUER too (company sign-in is off without it)`);
    return null;
  }
  const issuer = new URL(e.OIDC_ISSUER);
  // Tokens and the client secret travel to the provider: TLS, except to a provider on this machine.
  if (issuer.protocol !== 'https:' && !LOOPBACK.test(issuer.hostname)) throw invalid('OIDC_ISSUER: must be an https:// URL (http:// only for localhost)');
  if (issuer.search || issuer.hash) throw invalid('OIDC_ISSUER: an issuer identifier has no query or fragment (OIDC Discovery §2)');
  if (!e.OIDC_CLIENT_ID) throw invalid('OIDC_CLIENT_ID: required with OIDC_ISSUER (the client id the provider gave Argus)');
  if (e.OIDC_CLIENT_SECRET && e.OIDC_CLIENT_SECRET_FILE) throw invalid('OIDC_CLIENT_SECRET: set it or OIDC_CLIENT_SECRET_FILE, not both');
  let clientSecret = e.OIDC_CLIENT_SECRET;
  if (e.OIDC_CLIENT_SECRET_FILE) {
    try {
      clientSecret = readFileSync(e.OIDC_CLIENT_SECRET_FILE, 'utf8').trim();
    } catch {
      throw invalid(`OIDC_CLIENT_SECRET_FILE: cannot read ${e.OIDC_CLIENT_SECRET_FILE}`);
    }
  }
  if (!clientSecret) throw invalid('OIDC_CLIENT_SECRET: required with OIDC_ISSUER (or OIDC_CLIENT_SECRET_FILE)');
  const scopes = e.OIDC_SCOPES.split(' ');
  if (!scopes.includes('openid')) throw invalid('OIDC_SCOPES: must include openid');
  const adminGroups = e.OIDC_ADMIN_GROUPS ?? [];
  const auditorGroups = e.OIDC_AUDITOR_GROUPS ?? [];
  const both = adminGroups.find((group) => auditorGroups.includes(group));
  if (both) throw invalid(`OIDC_AUDITOR_GROUPS: "${both}" is an admin group too`);
  return {
    // As configured: the `iss` of every token must be this very string (a trailing slash counts).
    issuer: e.OIDC_ISSUER,
    clientId: e.OIDC_CLIENT_ID,
    clientSecret,
    scopes,
    displayName: e.OIDC_DISPLAY_NAME,
    redirectUri: `${origin}${OIDC_CALLBACK_PATH}`,
    usernameClaims: e.OIDC_USERNAME_CLAIM ? [e.OIDC_USERNAME_CLAIM] : ['preferred_username', 'email'],
    groupsClaim: e.OIDC_GROUPS_CLAIM,
    adminGroups,
    auditorGroups,
    provisioning: e.OIDC_PROVISIONING,
    firstKey: e.OIDC_FIRST_KEY,
    postLogoutRedirect: e.OIDC_POST_LOGOUT_REDIRECT ?? null,
    linkAllowanceHours: e.OIDC_LINK_ALLOWANCE_HOURS,
  };
}
