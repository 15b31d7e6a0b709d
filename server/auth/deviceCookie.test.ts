import { describe, expect, it } from 'vitest';
import { cookieFromHeader, DEVICE_COOKIE_MAX_AGE_DAYS, DEVICE_COOKIE_MAX_ENTRIES, deviceCookieAfterSignIn, deviceCookieOptions, deviceNonceFor } from './deviceCookie.ts';

const OLD = 'old-secret-old-secret-old-secret-0123456';
const NEW = 'new-secret-new-secret-new-secret-0123456';
const DAY = 24 * 60 * 60 * 1000;

const issue = (username: string, cookie: string | null = null, secrets = [NEW], now = Date.now()) =>
  deviceCookieAfterSignIn({ secrets, cookie, username, now });

describe('a device cookie', () => {
  it('names the user it was issued to, in any case, and nobody else', () => {
    const { value } = issue('Owner');
    const nonce = deviceNonceFor({ secrets: [NEW], cookie: value, username: 'OWNER' });
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(deviceNonceFor({ secrets: [NEW], cookie: value, username: 'owner2' })).toBeNull();
    expect(deviceNonceFor({ secrets: [NEW], cookie: null, username: 'owner' })).toBeNull();
  });

  it('is no cookie once its signature, name, nonce or date is changed', () => {
    const { value } = issue('owner');
    const [user, nonce, issued, signature] = value.split('.') as [string, string, string, string];
    const flip = (text: string) => (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
    const forgeries = [
      [user, nonce, issued, flip(signature)],
      [user, flip(nonce), issued, signature],
      [user, nonce, String(Number(issued) - 1), signature],
    ];
    for (const parts of forgeries) expect(deviceNonceFor({ secrets: [NEW], cookie: parts.join('.'), username: 'owner' })).toBeNull();
    // Mallory's own genuine cookie with the name changed to the owner's.
    const mallory = issue('mallory').value.split('.');
    mallory[0] = Buffer.from('owner').toString('base64url');
    expect(deviceNonceFor({ secrets: [NEW], cookie: mallory.join('.'), username: 'owner' })).toBeNull();
    // Re-signed with another key (one the server never had): still no cookie.
    const other = issue('owner', null, ['attacker-secret-attacker-secret-0123']).value;
    expect(deviceNonceFor({ secrets: [NEW], cookie: other, username: 'owner' })).toBeNull();
    // The last character carries two spare bits: a spelling that differs only there decodes to
    // the same signature bytes, and is refused all the same (one spelling per cookie).
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(signature.at(-1)!);
    const respelled = signature.slice(0, -1) + alphabet[last ^ 1];
    expect(Buffer.from(respelled, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
    expect(deviceNonceFor({ secrets: [NEW], cookie: [user, nonce, issued, respelled].join('.'), username: 'owner' })).toBeNull();
    // Malformed values are ignored, never thrown on.
    for (const junk of ['', '~~~', 'a.b.c.d', `${value}.extra`, 'x'.repeat(10_000)]) {
      expect(deviceNonceFor({ secrets: [NEW], cookie: junk, username: 'owner' })).toBeNull();
    }
  });

  it(`expires after ${DEVICE_COOKIE_MAX_AGE_DAYS} days, and one dated in the future is refused`, () => {
    const now = Date.now();
    const old = issue('owner', null, [NEW], now - (DEVICE_COOKIE_MAX_AGE_DAYS + 1) * DAY).value;
    expect(deviceNonceFor({ secrets: [NEW], cookie: old, username: 'owner', now })).toBeNull();
    const recent = issue('owner', null, [NEW], now - (DEVICE_COOKIE_MAX_AGE_DAYS - 1) * DAY).value;
    expect(deviceNonceFor({ secrets: [NEW], cookie: recent, username: 'owner', now })).not.toBeNull();
    const future = issue('owner', null, [NEW], now + DAY).value;
    expect(deviceNonceFor({ secrets: [NEW], cookie: future, username: 'owner', now })).toBeNull();
  });

  it('follows SESSION_SECRET rotation: valid while the old secret is listed, not after', () => {
    const { value } = issue('owner', null, [OLD]);
    expect(deviceNonceFor({ secrets: [NEW, OLD], cookie: value, username: 'owner' })).not.toBeNull();
    expect(deviceNonceFor({ secrets: [NEW], cookie: value, username: 'owner' })).toBeNull();
    // A sign-in during the rotation re-signs it with the new secret.
    const renewed = issue('owner', value, [NEW, OLD]);
    expect(renewed.previousNonce).toBe(deviceNonceFor({ secrets: [NEW, OLD], cookie: value, username: 'owner' }));
    expect(deviceNonceFor({ secrets: [NEW], cookie: renewed.value, username: 'owner' })).not.toBeNull();
  });

  it('holds a few usernames, a fresh nonce for the one who signed in, and drops the oldest past the limit', () => {
    let cookie: string | null = null;
    for (const name of ['u1', 'u2', 'u3']) cookie = issue(name, cookie).value;
    const before = deviceNonceFor({ secrets: [NEW], cookie, username: 'u1' });
    const again = issue('U1', cookie);
    expect(again.previousNonce).toBe(before);
    cookie = again.value;
    const after = deviceNonceFor({ secrets: [NEW], cookie, username: 'u1' });
    expect(after).not.toBeNull();
    expect(after).not.toBe(before);
    expect(deviceNonceFor({ secrets: [NEW], cookie, username: 'u2' })).not.toBeNull();
    for (let i = 4; i <= DEVICE_COOKIE_MAX_ENTRIES + 1; i += 1) cookie = issue(`u${i}`, cookie).value;
    // u1 signed in most recently of the first three; u2 is now the oldest and gone.
    expect(cookie!.split('~')).toHaveLength(DEVICE_COOKIE_MAX_ENTRIES);
    expect(deviceNonceFor({ secrets: [NEW], cookie, username: 'u2' })).toBeNull();
    expect(deviceNonceFor({ secrets: [NEW], cookie, username: 'u1' })).toBe(after);
  });

  it('is HttpOnly, SameSite=Strict, long-lived, sent to the sign-in routes only, and Secure over HTTPS', () => {
    expect(deviceCookieOptions(true)).toEqual({ httpOnly: true, secure: true, sameSite: 'strict', path: '/api/auth', maxAge: DEVICE_COOKIE_MAX_AGE_DAYS * DAY });
    expect(deviceCookieOptions(false).secure).toBe(false);
  });

  it('is read from a Cookie header by its exact name', () => {
    expect(cookieFromHeader('argus.sid=abc; argus.device=v1~v2', 'argus.device')).toBe('v1~v2');
    expect(cookieFromHeader('xargus.device=nope', 'argus.device')).toBeNull();
    expect(cookieFromHeader(undefined, 'argus.device')).toBeNull();
  });
});
