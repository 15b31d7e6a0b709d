/**
 * What Argus reads from a validated ID token besides its subject: the username (from a
 * configurable claim, made to fit Argus's username rule), the display name, and the role
 * (from the groups claim). The account is always found by (iss, sub), never by these.
 */
import type { Role } from '../../shared/api.ts';
import type { OidcConfig } from './oidcConfig.ts';

/** Argus's username rule (sql/000001 app_user.username). */
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$/;

export type ClaimedUsername = { ok: true; username: string; claim: string } | { ok: false; reason: 'username_missing' | 'username_invalid' };

/**
 * A claim's value made into an Argus username: accents dropped (Jörg → Jorg), every other
 * character outside letters, digits, `.`, `_` and `-` becomes `_` (alice@example.com →
 * alice_example.com), leading punctuation dropped, cut to 63 characters. Null when fewer
 * than 2 characters are left.
 */
export function sanitizeUsername(raw: string): string | null {
  const ascii = raw.normalize('NFKD').replace(/\p{M}/gu, '');
  const replaced = ascii.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63);
  return USERNAME.test(replaced) ? replaced : null;
}

/**
 * The username the claims give, from the first configured claim that holds a string
 * (OIDC_USERNAME_CLAIM, else preferred_username then email). An `email` claim counts only
 * when the provider says it is verified: an address someone merely typed must not name an account.
 */
export function usernameFromClaims(claims: Record<string, unknown>, usernameClaims: readonly string[]): ClaimedUsername {
  for (const claim of usernameClaims) {
    const value = claims[claim];
    if (typeof value !== 'string' || value.trim() === '') continue;
    if (claim === 'email' && claims.email_verified !== true) continue;
    const username = sanitizeUsername(value.trim());
    return username ? { ok: true, username, claim } : { ok: false, reason: 'username_invalid' };
  }
  return { ok: false, reason: 'username_missing' };
}

/** A display name from `name` (or given and family names), else the username; at most 100 characters. */
export function displayNameFromClaims(claims: Record<string, unknown>, username: string): string {
  const parts = [claims.given_name, claims.family_name].filter((part): part is string => typeof part === 'string' && part.trim() !== '');
  const name = typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim() : parts.join(' ').trim();
  // Control characters have no place in a name shown in tables.
  const clean = name.replace(/\p{Cc}/gu, '').slice(0, 100).trim();
  return clean || username;
}

/** The groups claim as a list: an array of strings, or one string as a single group; anything else, none. */
export function groupsFromClaims(claims: Record<string, unknown>, groupsClaim: string): string[] {
  const value = claims[groupsClaim];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((group): group is string => typeof group === 'string');
  return [];
}

/**
 * The role the groups give: admin if any is an admin group, else auditor if any is an
 * auditor group, else user. Null when no group is configured at all: roles are then managed
 * in Argus, and a sign-in never changes one.
 */
export function roleFromGroups(groups: readonly string[], { adminGroups, auditorGroups }: Pick<OidcConfig, 'adminGroups' | 'auditorGroups'>): Role | null {
  if (adminGroups.length === 0 && auditorGroups.length === 0) return null;
  if (groups.some((group) => adminGroups.includes(group))) return 'admin';
  if (groups.some((group) => auditorGroups.includes(group))) return 'auditor';
  return 'user';
}
