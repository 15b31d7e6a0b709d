import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEnrollee, errorCode, enrollUser, lastAudit, startTestNode, type TestNode, type TestResponse } from '../test/harness.ts';
import type { SoftAuthenticator } from '../test/softAuthenticator.ts';
import { DEVICE_COOKIE, deviceNonceFor } from './deviceCookie.ts';

/*
 * Issue #20, threat model G10: nobody from outside can lock a user out. Failures from browsers
 * where the user never signed in fully spend one shared budget per username; a browser that
 * holds the user's device cookie (set by a full sign-in, key included) has a budget of its own.
 * The node trusts X-Forwarded-For from loopback, so each attempt comes from the address it names.
 */

const BUDGET = 5;
const PER_IP = 25;
let node: TestNode;

interface Person {
  username: string;
  password: string;
  authenticator: SoftAuthenticator;
}
let owner: Person;
let other: Person;
let carol: Person;

beforeAll(async () => {
  node = await startTestNode({
    TRUST_PROXY: 'loopback',
    SIGNIN_FAILURES_PER_USERNAME: String(BUDGET),
    SIGNIN_FAILURE_WINDOW_MINUTES: '15',
    SIGNIN_RATE_PER_MINUTE: String(PER_IP),
  });
  owner = { username: 'owner', ...(await enrollUser(node, { username: 'owner', password: 'seven lanterns over the harbour' })) };
  other = { username: 'other', ...(await enrollUser(node, { username: 'other', password: 'a kettle of hawks at dawn' })) };
  carol = { username: 'carol', ...(await enrollUser(node, { username: 'carol', password: 'copper kettles sing at noon' })) };
});
afterAll(() => node.destroy());

/** One password attempt from `ip`, as a fresh browser that sends only `cookie` (a device cookie), if given. */
function attempt(ip: string, username: string, password: string, cookie?: string): Promise<TestResponse> {
  return node.client().request('POST', '/api/auth/signin', { username, password }, { 'x-forwarded-for': ip, ...(cookie ? { cookie } : {}) });
}

/**
 * Both steps from `ip`, from a browser holding `deviceCookie` (if any). Returns the password
 * step's answer and, when the key step completed, the device cookie it set.
 */
async function fullSignIn(ip: string, person: Person, deviceCookie?: string): Promise<{ password: TestResponse; deviceCookie: string | null }> {
  const client = node.client();
  const headers = () => ({ 'x-forwarded-for': ip, cookie: [client.cookie, deviceCookie].filter(Boolean).join('; ') });
  const password = await client.request('POST', '/api/auth/signin', { username: person.username, password: person.password }, headers());
  if (password.status !== 200) return { password, deviceCookie: null };
  const { options } = (await client.request<{ options: { challenge: string } }>('POST', '/api/auth/key/options', {}, headers())).body;
  const done = await client.request('POST', '/api/auth/key', { response: person.authenticator.assert(options) }, headers());
  expect(done.status).toBe(200);
  const set = done.headers.getSetCookie().find((header) => header.startsWith(`${DEVICE_COOKIE}=`));
  return { password, deviceCookie: set ? set.split(';')[0]! : null };
}

/** Runs `tasks` with at most `limit` in flight, like a flood from many machines at once. */
async function inParallel<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

/** The cookie with one character of its signature changed: the first, whose six bits all count. */
function tampered(cookie: string): string {
  const at = cookie.lastIndexOf('.') + 1;
  return cookie.slice(0, at) + (cookie[at] === 'A' ? 'B' : 'A') + cookie.slice(at + 1);
}

describe('device cookies', () => {
  it('are set by a full sign-in: HttpOnly, SameSite=Strict, for the sign-in routes, long-lived', async () => {
    const client = node.client();
    const password = await client.request('POST', '/api/auth/signin', { username: 'other', password: other.password }, { 'x-forwarded-for': '192.0.2.1' });
    // Not by the password step alone.
    expect(password.headers.getSetCookie().filter((header) => header.startsWith(`${DEVICE_COOKIE}=`))).toEqual([]);
    const first = await client.request<{ options: { challenge: string } }>('POST', '/api/auth/key/options', {}, { 'x-forwarded-for': '192.0.2.1' });
    const done = await client.request('POST', '/api/auth/key', { response: other.authenticator.assert(first.body.options) }, { 'x-forwarded-for': '192.0.2.1' });
    const set = done.headers.getSetCookie().find((header) => header.startsWith(`${DEVICE_COOKIE}=`));
    expect(set).toMatch(/HttpOnly/);
    expect(set).toMatch(/SameSite=Strict/);
    expect(set).toMatch(/Path=\/api\/auth/);
    expect(Number(set!.match(/Max-Age=(\d+)/)![1])).toBeGreaterThan(90 * 24 * 3600);
  });

  it('are set by the end of an enrollment too: the browser that chose the password and registered the key is known', async () => {
    const { token } = await createEnrollee(node, { username: 'enid' });
    const client = node.client();
    const password = await client.post(`/api/enrollment/${token}/password`, { password: 'a heron in the reeds at dusk' });
    expect(password.headers.getSetCookie().filter((header) => header.startsWith(`${DEVICE_COOKIE}=`))).toEqual([]);
    const { options } = (await client.post<{ options: { challenge: string } }>(`/api/enrollment/${token}/key/options`)).body;
    const done = await client.post(`/api/enrollment/${token}/key`, { response: node.authenticator().register(options) });
    expect(done.status).toBe(200);
    const set = done.headers.getSetCookie().find((header) => header.startsWith(`${DEVICE_COOKIE}=`));
    expect(set).toMatch(/Path=\/api\/auth/);
    const value = set!.split(';')[0]!.slice(DEVICE_COOKIE.length + 1);
    expect(deviceNonceFor({ secrets: node.deps.config.sessionSecrets, cookie: value, username: 'enid' })).not.toBeNull();
    expect(deviceNonceFor({ secrets: node.deps.config.sessionSecrets, cookie: value, username: 'owner' })).toBeNull();
  });
});

describe('1,000 failed sign-ins for one username from 50 addresses', () => {
  let ownerBrowser: string;
  let otherBrowser: string;
  let flood: TestResponse[];
  let hashed: number;

  beforeAll(async () => {
    // The owner's browser and another user's, each known from an earlier full sign-in.
    ownerBrowser = (await fullSignIn('203.0.113.10', owner)).deviceCookie!;
    otherBrowser = (await fullSignIn('203.0.113.11', other)).deviceCookie!;
    expect(ownerBrowser).toMatch(new RegExp(`^${DEVICE_COOKIE.replace('.', '\\.')}=`));
    // 20 attempts an address, under the per-IP limit: what stops them is the username's budget.
    const tasks = Array.from({ length: 1000 }, (_, i) => () => attempt(`198.51.100.${(i % 50) + 1}`, 'owner', `guess number ${i}`));
    const hashing = vi.spyOn(node.deps.hasher.limiter, 'run');
    flood = await inParallel(tasks, 16);
    hashed = hashing.mock.calls.length;
    hashing.mockRestore();
  }, 120_000);

  it('check exactly the budget of passwords, then throttle unknown devices with 429 and Retry-After, without hashing', async () => {
    const statuses = flood.map((response) => response.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(BUDGET);
    expect(statuses.filter((status) => status === 429)).toHaveLength(1000 - BUDGET);
    // Taken before hashing: parallel guesses cannot slip past a check made before any of them failed.
    expect(hashed).toBe(BUDGET);
    const refused = flood.find((response) => response.status === 429)!;
    expect(errorCode(refused)).toBe('RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // The lock is one alarm, naming the bucket that locked.
    expect(await lastAudit(node, 'auth.rate_limited')).toMatchObject({
      severity: 'high',
      targetType: 'user',
      details: { limiter: 'signin-username', bucket: 'unknown_devices', username: 'owner' },
    });
  });

  it('do not stop the owner signing in from their known browser, key included', async () => {
    const { password, deviceCookie } = await fullSignIn('203.0.113.10', owner, ownerBrowser);
    expect(password.status).toBe(200);
    expect(password.body).toEqual({ next: 'security_key' });
    // A fresh cookie (new nonce) for the next time.
    expect(deviceCookie).not.toBeNull();
    expect(deviceCookie).not.toBe(ownerBrowser);
    ownerBrowser = deviceCookie!;
  });

  it('still lock out the owner on a browser they never signed in on, even with the right password', async () => {
    const unknown = await attempt('203.0.113.10', 'owner', owner.password);
    expect(unknown.status).toBe(429);
    expect(Number(unknown.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a forged or tampered device cookie counts as none', async () => {
    const forged = await attempt('203.0.113.10', 'owner', owner.password, tampered(ownerBrowser));
    expect(forged.status).toBe(429);
    const invented = await attempt('203.0.113.10', 'owner', owner.password, `${DEVICE_COOKIE}=b3duZXI.AAAAAAAAAAAAAAAAAAAAAA.1700000000.${'A'.repeat(43)}`);
    expect(invented.status).toBe(429);
  });

  it("another user's device cookie does not help", async () => {
    const borrowed = await attempt('203.0.113.11', 'owner', owner.password, otherBrowser);
    expect(borrowed.status).toBe(429);
    // …while it still works for its own user.
    expect((await fullSignIn('203.0.113.11', other, otherBrowser)).password.status).toBe(200);
  });
});

describe("a device's own failures", () => {
  it('lock that device only: not the owner’s other browsers, nor the unknown devices', async () => {
    const laptop = (await fullSignIn('203.0.113.20', carol)).deviceCookie!;
    const phone = (await fullSignIn('203.0.113.21', carol)).deviceCookie!;
    for (let i = 0; i < BUDGET; i += 1) expect((await attempt('203.0.113.20', 'carol', `typo number ${i}`, laptop)).status).toBe(401);
    // Locked for the window, right password or not (OWASP: a locked device cookie stays locked).
    const locked = await attempt('203.0.113.20', 'carol', carol.password, laptop);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await lastAudit(node, 'auth.rate_limited')).toMatchObject({ details: { limiter: 'signin-username', bucket: 'this_device', username: 'carol' } });
    // Her other browser, and a browser she never used, are not locked by those failures.
    expect((await fullSignIn('203.0.113.21', carol, phone)).password.status).toBe(200);
    expect((await fullSignIn('203.0.113.22', carol)).password.status).toBe(200);
  });
});

describe('the per-IP limit', () => {
  it('still applies to a known browser', async () => {
    const ip = '203.0.113.30';
    const { deviceCookie: browser } = await fullSignIn(ip, carol);
    // The password step above was one attempt from this address; fill the rest of its minute.
    for (let i = 1; i < PER_IP; i += 1) await attempt(ip, `nobody-${i % 3}`, 'not a password at all', undefined);
    const limited = await attempt(ip, 'carol', carol.password, browser!);
    expect(limited.status).toBe(429);
    expect(errorCode(limited)).toBe('RATE_LIMITED');
    // The same browser from another address is let through.
    expect((await attempt('203.0.113.31', 'carol', carol.password, browser!)).status).toBe(200);
  });
});

describe('resuming an enrollment link', () => {
  it('spends the same unknown-devices budget as the sign-in form, and a right password gives its point back', async () => {
    const { token } = await createEnrollee(node, { username: 'dora' });
    const chosen = 'a tangerine for later';
    const resume = (ip: string, password: string) =>
      node.client().request('POST', `/api/enrollment/${token}/resume`, { password }, { 'x-forwarded-for': ip });
    expect((await node.client().request('POST', `/api/enrollment/${token}/password`, { password: chosen }, { 'x-forwarded-for': '203.0.113.40' })).status).toBe(200);
    expect((await resume('203.0.113.41', chosen)).status).toBe(200);
    // Three wrong guesses through the link and two through the sign-in form use up the budget of five…
    for (let i = 0; i < 3; i += 1) expect((await resume(`203.0.113.${42 + i}`, `wrong guess ${i}`)).status).toBe(401);
    for (let i = 0; i < 2; i += 1) expect((await attempt(`203.0.113.${45 + i}`, 'dora', `wrong guess ${i}`)).status).toBe(401);
    // …so the link is throttled too, right password or not: two routes give no more guesses than one.
    const limited = await resume('203.0.113.47', chosen);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
