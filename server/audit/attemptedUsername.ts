import { createHmac, hkdfSync } from 'node:crypto';
import type { AuditEventView } from '../../shared/audit.ts';

/**
 * How the audit log names the username a sign-in attempt typed.
 *
 * A username that matches an account is recorded as typed (`details.username`). One that
 * matches no account is often something else typed into the wrong box — a password — so it
 * is never stored: the log keeps a keyed hash and the length instead, enough for the security
 * team to see that the same unknown name was tried again and again without being able to
 * read it, or to test guesses against it without the server's secret.
 *
 *   key  = HKDF-SHA-256(ikm = UTF-8 secret, salt = empty, info = USERNAME_HASH_LABEL, 32 bytes)
 *   hash = lowercase hex HMAC-SHA-256(key, UTF-8 username as typed, after trimming)
 *
 * The secret is the current session secret (SESSION_SECRET's first value), so no further
 * configuration is needed; rotating it changes the hashes from then on (docs/audit-chain.md).
 */
export const USERNAME_HASH_LABEL = 'argus audit username v1';

/** The marker prefix of a hashed name where a username field is expected (exports). A username cannot contain ':'. */
export const USERNAME_HASH_PREFIX = 'hmac-sha256:';

/** What an audit event's details say about an unknown username: its hash and its length in characters. */
// A type, not an interface: it goes into an event's details (a Record<string, unknown>) as it is.
export type UnknownUsernameDetails = {
  usernameHmac: string;
  usernameLength: number;
};

let cached: { secret: string; key: Buffer } | null = null;

/** The dedicated key, derived so the session secret itself never keys anything but cookies. */
function usernameHashKey(secret: string): Buffer {
  if (cached?.secret !== secret) cached = { secret, key: Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), USERNAME_HASH_LABEL, 32)) };
  return cached.key;
}

/** The details that stand in for a username matching no account. */
export function unknownUsernameDetails(secret: string, username: string): UnknownUsernameDetails {
  return {
    usernameHmac: createHmac('sha256', usernameHashKey(secret)).update(username, 'utf8').digest('hex'),
    // Code points, as a person counts characters (an emoji is one).
    usernameLength: [...username].length,
  };
}

export type AttemptedUsername = { known: true; username: string } | { known: false; usernameHmac: string; usernameLength: number };

/** The actions whose details name a username someone tried to sign in as. */
const SIGN_IN_ATTEMPTS: ReadonlySet<string> = new Set(['auth.signin_failed', 'auth.rate_limited']);

/** The username a sign-in attempt recorded (known, or hashed), if the event is one and names it. */
export function attemptedUsernameOf({ action, details }: Pick<AuditEventView, 'action' | 'details'>): AttemptedUsername | null {
  if (!SIGN_IN_ATTEMPTS.has(action)) return null;
  if (typeof details.username === 'string') return { known: true, username: details.username };
  if (typeof details.usernameHmac === 'string' && typeof details.usernameLength === 'number') {
    return { known: false, usernameHmac: details.usernameHmac, usernameLength: details.usernameLength };
  }
  return null;
}

/** The attempted username as one text for a "user name" field: the name, or the marked hash. */
export function attemptedUsernameText(attempted: AttemptedUsername): string {
  return attempted.known ? attempted.username : `${USERNAME_HASH_PREFIX}${attempted.usernameHmac}`;
}
