import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditListResponse } from '../../shared/audit.ts';
import { enrollUser, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';
import { TestSocket } from '../test/wsClient.ts';

let node: TestNode;
let admin: TestClient;

beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '8', SIGNIN_FAILURES_PER_USERNAME: '3' });
  admin = (await enrollUser(node, { username: 'ada', role: 'admin' })).client;
  await enrollUser(node, { username: 'target', password: 'eleven orange kites' });
});
afterAll(() => node.destroy());

const rateLimitEvents = async () =>
  (await admin.get<AuditListResponse>('/api/audit/events?action=auth.rate_limited')).body.events;

describe('a sign-in throttle that trips is a security event', () => {
  it('audits the failure that locks a username once, at high severity, and live to admins', async () => {
    const socket = await TestSocket.open(node.url, { origin: 'http://argus.test', cookie: admin.cookie });
    for (let i = 0; i < 5; i += 1) await node.client().post('/api/auth/signin', { username: 'target', password: `wrong guess ${i}` });
    const events = await rateLimitEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ severity: 'high', outcome: 'denied', targetType: 'user', details: { limiter: 'signin-username', username: 'target' } });
    // On the admins' live feed too (socket.next throws if it never comes).
    const seen: string[] = [];
    while (!seen.includes('auth.rate_limited')) seen.push((await socket.next('SECURITY_EVENT')).event.action);
    socket.close();
  });

  it('audits the attempt that trips the per-IP limit once, not every refusal after it', async () => {
    // 5 attempts above came from this IP; 3 more reach the limit of 8.
    for (let i = 0; i < 6; i += 1) await node.client().post('/api/auth/signin', { username: `someone${i}`, password: 'any password at all' });
    const events = (await rateLimitEvents()).filter((e) => e.details.limiter === 'signin-ip');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ severity: 'high', ip: expect.stringMatching(/127\.0\.0\.1/), details: { retryAfter: expect.any(Number) } });
  });
});

describe('what is typed into the username box stays out of Redis', () => {
  it('names a username throttle by a keyed hash, never by the text', async () => {
    // The first test above failed five times as "target", which started that name's count.
    const keys = await node.deps.redis.keys('*signin-user*');
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((key) => key.toLowerCase().includes('target'))).toEqual([]);
    // Kept under the hash of the lower-cased name, so another case counts against the same budget.
    expect(keys.some((key) => key.endsWith(`:${node.deps.signInThrottle.keyOf('TARGET')}`))).toBe(true);
  });
});
