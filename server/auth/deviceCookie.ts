import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser
 * where someone signed in fully (password and key) as a user gets a signed cookie naming that
 * user and a random nonce. At the password step, a valid entry for the username typed moves
 * the attempt's failures from the username's shared "unknown devices" budget to a budget of
 * that device's own (server/auth/signInThrottle.ts), so failures made elsewhere never lock
 * the owner's own browser out.
 *
 * - deviceNonceFor: the nonce of this browser's valid entry for a username, or null;
 * - deviceCookieAfterSignIn: the cookie value to set after a full sign-in;
 * - cookieFromHeader: one cookie's value out of a Cookie header.
 *
 * One cookie holds entries for a few usernames, newest first, `~`-separated; each is
 *
 *   base64url(lower-cased username) "." nonce "." issued-at seconds "." signature
 *
 * with signature = base64url HMAC-SHA-256(key, everything before it). Each key is
 * HKDF-SHA-256(secret, salt = empty, info = DEVICE_COOKIE_LABEL) of a SESSION_SECRET value:
 * the first signs, every one verifies, so rotating the session secret keeps devices known
 * until the old secret is dropped. An entry that does not verify, has expired or is malformed
 * is no entry: the browser is an unknown device for that username.
 */

export const DEVICE_COOKIE = 'argus.device';
/** Sent only to the sign-in routes: no other request needs it. */
export const DEVICE_COOKIE_PATH = '/api/auth';
export const DEVICE_COOKIE_LABEL = 'argus device cookie v1';
/** Long-lived, like OWASP's: a browser used every few months stays known. */
export const DEVICE_COOKIE_MAX_AGE_DAYS = 180;
/** A few people may share a browser (a family computer, a test machine); more are dropped oldest first. */
export const DEVICE_COOKIE_MAX_ENTRIES = 5;

const MAX_AGE_SECONDS = DEVICE_COOKIE_MAX_AGE_DAYS * 24 * 60 * 60;
/** Clocks of different nodes disagree a little; an entry issued further in the future is forged. */
const CLOCK_SKEW_SECONDS = 5 * 60;
/** Far more than MAX_ENTRIES entries of the longest username: anything longer is not ours. */
const MAX_COOKIE_LENGTH = 4096;
const NONCE = /^[A-Za-z0-9_-]{22}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

interface DeviceEntry {
  username: string;
  nonce: string;
  issuedAt: number;
  /** The entry as it sits in the cookie, to keep it unchanged. */
  text: string;
}

let cachedKeys: { secrets: readonly string[]; keys: Buffer[] } | null = null;

/** One key per session secret, derived so the session secret itself keys nothing but session cookies. */
function keysOf(secrets: readonly string[]): Buffer[] {
  if (cachedKeys?.secrets !== secrets) {
    cachedKeys = { secrets, keys: secrets.map((secret) => Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), DEVICE_COOKIE_LABEL, 32))) };
  }
  return cachedKeys.keys;
}

function sign(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload, 'utf8').digest();
}

/** The entries of a cookie value that verify under one of the keys and have not expired, in cookie order. */
function validEntries(secrets: readonly string[], cookie: string | null, now: number): DeviceEntry[] {
  if (!cookie || cookie.length > MAX_COOKIE_LENGTH) return [];
  const nowSeconds = Math.floor(now / 1000);
  const keys = keysOf(secrets);
  const entries: DeviceEntry[] = [];
  for (const text of cookie.split('~').slice(0, DEVICE_COOKIE_MAX_ENTRIES)) {
    const parts = text.split('.');
    if (parts.length !== 4) continue;
    const [user = '', nonce = '', issued = '', signature = ''] = parts;
    // Shape first, so nothing below works on attacker-sized input.
    if (!BASE64URL.test(user) || !NONCE.test(nonce) || !/^\d{1,12}$/.test(issued) || !/^[A-Za-z0-9_-]{43}$/.test(signature)) continue;
    const issuedAt = Number(issued);
    if (issuedAt > nowSeconds + CLOCK_SKEW_SECONDS || nowSeconds - issuedAt > MAX_AGE_SECONDS) continue;
    const given = Buffer.from(signature, 'base64url');
    // One spelling per signature: the last character's two spare bits must be zero, so a
    // cookie with an edited last character is never the same cookie.
    if (given.toString('base64url') !== signature) continue;
    const payload = `${user}.${nonce}.${issued}`;
    if (!keys.some((key) => timingSafeEqual(sign(key, payload), given))) continue;
    entries.push({ username: Buffer.from(user, 'base64url').toString('utf8'), nonce, issuedAt, text });
  }
  return entries;
}

/** What both questions about a browser's device cookie take: the secrets, its cookie value, whom it is asked about. */
interface DeviceCookieQuery {
  secrets: readonly string[];
  cookie: string | null;
  username: string;
  now?: number;
}

/** The nonce of this browser's device entry for `username` (any case), or null when it holds no valid one. */
export function deviceNonceFor({ secrets, cookie, username, now = Date.now() }: DeviceCookieQuery): string | null {
  const wanted = username.toLowerCase();
  return validEntries(secrets, cookie, now).find((entry) => entry.username === wanted)?.nonce ?? null;
}

/**
 * The cookie value to set after `username` signed in fully: a new entry (fresh nonce) for
 * them first, then this browser's other valid entries. `previousNonce` is the nonce the
 * browser held for them, whose failure count can now be forgotten.
 */
export function deviceCookieAfterSignIn({ secrets, cookie, username, now = Date.now() }: DeviceCookieQuery): { value: string; previousNonce: string | null } {
  const wanted = username.toLowerCase();
  const entries = validEntries(secrets, cookie, now);
  const user = Buffer.from(wanted, 'utf8').toString('base64url');
  const payload = `${user}.${randomBytes(16).toString('base64url')}.${Math.floor(now / 1000)}`;
  const fresh = `${payload}.${sign(keysOf(secrets)[0]!, payload).toString('base64url')}`;
  const others = entries.filter((entry) => entry.username !== wanted).map((entry) => entry.text);
  return {
    value: [fresh, ...others].slice(0, DEVICE_COOKIE_MAX_ENTRIES).join('~'),
    previousNonce: entries.find((entry) => entry.username === wanted)?.nonce ?? null,
  };
}

/** The cookie attributes: HttpOnly, SameSite=Strict, Secure over HTTPS, long-lived, for the sign-in routes only. */
export function deviceCookieOptions(secure: boolean) {
  return { httpOnly: true, secure, sameSite: 'strict' as const, path: DEVICE_COOKIE_PATH, maxAge: MAX_AGE_SECONDS * 1000 };
}

/** The raw value of the cookie `name` in a Cookie request header, or null. */
export function cookieFromHeader(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return null;
}
