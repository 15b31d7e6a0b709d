import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantResponse } from '../../shared/api.ts';
import { WS_CLOSE } from '../../shared/events.ts';
import { enrollUser, signIn, startSiblingNode, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';
import { ThrowawayRedis } from '../test/throwawayRedis.ts';
import { TestSocket } from '../test/wsClient.ts';
import { WS_LIMITS } from './hub.ts';

let node: TestNode;
let alice: Awaited<ReturnType<typeof enrollUser>>;
beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
  alice = await enrollUser(node, { username: 'alice', password: 'the owl and the pussycat' });
});
afterAll(() => node.destroy());

async function refusedStatus(promise: Promise<TestSocket>): Promise<number> {
  try {
    (await promise).close();
    return 101;
  } catch (error) {
    return (error as { status?: number }).status ?? 0;
  }
}

async function unlock(client: TestClient, authenticator: typeof alice.authenticator): Promise<string> {
  const options = (await client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body.options;
  const response = await client.post<GrantResponse>('/api/verify-key-ownership', { response: authenticator.assert(options), presenceMode: 'assertion' });
  return response.body.grant!.id;
}

describe('WebSocket authentication', () => {
  it('refuses an upgrade without a signed-in session', async () => {
    expect(await refusedStatus(TestSocket.open(node.url, { origin: 'http://argus.test' }))).toBe(401);
    // A pending (password-only) session is not signed in either.
    const pending = node.client();
    await pending.post('/api/auth/signin', { username: 'alice', password: alice.password });
    expect(await refusedStatus(TestSocket.open(node.url, { origin: 'http://argus.test', cookie: pending.cookie }))).toBe(401);
  });

  it('refuses an upgrade from another Origin (cross-site WebSocket hijacking)', async () => {
    expect(await refusedStatus(TestSocket.open(node.url, { origin: 'https://evil.example', cookie: alice.client.cookie }))).toBe(403);
    expect(await refusedStatus(TestSocket.open(node.url, { origin: 'http://argus.test', cookie: alice.client.cookie }))).toBe(101);
  });

  it('closes a connection that sends an oversized frame, an unexpected message, or too many', async () => {
    const big = await TestSocket.open(node.url, { origin: 'http://argus.test', cookie: alice.client.cookie });
    big.socket.send('x'.repeat(WS_LIMITS.maxFrameBytes + 1));
    expect((await big.closedWith()).code).toBe(WS_CLOSE.TOO_BIG);

    const odd = await TestSocket.open(node.url, { origin: 'http://argus.test', cookie: alice.client.cookie });
    odd.socket.send(JSON.stringify({ type: 'GRANT_PLEASE' }));
    expect(await odd.closedWith()).toEqual({ code: WS_CLOSE.POLICY, reason: 'unexpected message' });

    const chatty = await TestSocket.open(node.url, { origin: 'http://argus.test', cookie: alice.client.cookie });
    for (let i = 0; i < WS_LIMITS.messagesPerSecond + 10; i += 1) chatty.socket.send('{"type":"ping"}');
    expect(await chatty.closedWith()).toEqual({ code: WS_CLOSE.POLICY, reason: 'too many messages' });

    const polite = await TestSocket.open(node.url, { origin: 'http://argus.test', cookie: alice.client.cookie });
    for (let i = 0; i < 10; i += 1) polite.socket.send('{"type":"ping"}');
    await new Promise((r) => setTimeout(r, 200));
    expect(polite.closed).toBeNull();
    polite.close();
  });

  it(`limits connections to ${WS_LIMITS.connectionsPerMinutePerUser} a minute per user and ${WS_LIMITS.connectionsPerMinutePerIp} per IP`, async () => {
    const limited = await startTestNode();
    try {
      const bob = await enrollUser(limited, { username: 'bob', password: 'the walrus and the carpenter' });
      const statuses: number[] = [];
      for (let i = 0; i < WS_LIMITS.connectionsPerMinutePerUser + 1; i += 1) {
        statuses.push(await refusedStatus(TestSocket.open(limited.url, { origin: 'http://argus.test', cookie: bob.client.cookie })));
      }
      expect(statuses.slice(0, -1).every((s) => s === 101)).toBe(true);
      expect(statuses.at(-1)).toBe(429);
      // The IP budget counts every attempt, signed in or not.
      const more: number[] = [];
      for (let i = 0; i < WS_LIMITS.connectionsPerMinutePerIp - WS_LIMITS.connectionsPerMinutePerUser; i += 1) {
        more.push(await refusedStatus(TestSocket.open(limited.url, { origin: 'http://argus.test' })));
      }
      expect(more.at(-1)).toBe(429);
    } finally {
      await limited.destroy();
    }
  });

  it('drops a peer that stops answering pings', async () => {
    const quick = await startTestNode({ WS_HEARTBEAT_SECONDS: '1' });
    try {
      const erin = await enrollUser(quick, { username: 'erin', password: 'the quangle wangle hat' });
      const live = await TestSocket.open(quick.url, { origin: 'http://argus.test', cookie: erin.client.cookie });
      const dead = await TestSocket.open(quick.url, { origin: 'http://argus.test', cookie: erin.client.cookie });
      expect(quick.hub.count()).toBe(2);
      // A peer that is gone: ws answers pings by itself, so stop reading its socket altogether.
      (dead.socket as unknown as { _socket: { pause(): void } })._socket.pause();
      await expect.poll(() => quick.hub.count(), { timeout: 5_000 }).toBe(1);
      expect(live.closed).toBeNull();
      live.close();
    } finally {
      await quick.destroy();
    }
  });
});

describe('the live audit feed', () => {
  it('sends committed security events to admins and auditors only', async () => {
    const admin = await enrollUser(node, { username: 'feed-admin', role: 'admin', password: 'the pobble who has no toes' });
    const auditor = await enrollUser(node, { username: 'feed-auditor', role: 'auditor', password: 'the courtship of the yonghy' });
    const adminSocket = await TestSocket.open(node.url, { origin: 'http://argus.test', cookie: admin.client.cookie });
    const auditorSocket = await TestSocket.open(node.url, { origin: 'http://argus.test', cookie: auditor.client.cookie });
    const userSocket = await TestSocket.open(node.url, { origin: 'http://argus.test', cookie: alice.client.cookie });
    expect((await node.client().post('/api/auth/signin', { username: 'alice', password: 'wrong password here' })).status).toBe(401);
    for (const socket of [adminSocket, auditorSocket]) {
      await expect.poll(() => socket.events.some((e) => e.type === 'SECURITY_EVENT' && e.event.action === 'auth.signin_failed')).toBe(true);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(userSocket.events.filter((e) => e.type === 'SECURITY_EVENT')).toEqual([]);
    for (const socket of [adminSocket, auditorSocket, userSocket]) socket.close();
  });
});

describe('two nodes on one Postgres and one Redis', () => {
  it('a grant revoked on node A is refused on node B at once, and B’s sockets hear of it', async () => {
    const nodeB = await startSiblingNode(node);
    try {
      const carol = await enrollUser(node, { username: 'carol', password: 'the jumblies went to sea' });
      const grantId = await unlock(carol.client, carol.authenticator);
      // The same session cookie works on B: sessions live in the shared Redis.
      const onB = carol.client.sameSessionOn(nodeB);
      expect((await onB.get<GrantResponse>('/api/grants/current')).body.grant?.id).toBe(grantId);
      const socketOnB = await TestSocket.open(nodeB.url, { origin: 'http://argus.test', cookie: carol.client.cookie });

      expect((await carol.client.request('DELETE', '/api/grants/current', { reason: 'key_removed' })).status).toBe(204);
      expect((await onB.get<GrantResponse>('/api/grants/current')).body.grant).toBeNull();
      const streamed = await fetch(`${nodeB.url}/api/chat/stream`, {
        method: 'POST',
        headers: { origin: 'http://argus.test', 'content-type': 'application/json', cookie: carol.client.cookie! },
        body: JSON.stringify({ model: 'demo-restricted', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(streamed.status).toBe(403);
      expect(await socketOnB.next('GRANT_REVOKED')).toEqual({ type: 'GRANT_REVOKED', grantId, reason: 'key_removed' });
      socketOnB.close();
    } finally {
      await nodeB.close();
    }
  });
});

describe('when Redis is down', () => {
  it('restricted access is denied with a clear error, and returns when Redis does', async () => {
    const redis = await ThrowawayRedis.start();
    const isolated = await startTestNode({ REDIS_URL: redis.url });
    try {
      const dan = await enrollUser(isolated, { username: 'dan', password: 'the dong with a luminous nose' });
      await unlock(dan.client, dan.authenticator);
      await redis.stop();
      const response = await fetch(`${isolated.url}/api/chat/stream`, {
        method: 'POST',
        headers: { origin: 'http://argus.test', 'content-type': 'application/json', cookie: dan.client.cookie! },
        body: JSON.stringify({ model: 'demo-restricted', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toMatch(/json/);
      const body = (await response.json()) as { error: { code: string } };
      expect(['SERVICE_UNAVAILABLE', 'GRANT_CHECK_UNAVAILABLE']).toContain(body.error.code);
      const options = await dan.client.post('/api/verify-key-ownership/options');
      expect(options.status).toBe(503);
      await redis.start();
      await expect.poll(async () => (await fetch(`${isolated.url}/readyz`)).status, { timeout: 10_000 }).toBe(200);
      // Redis came back empty: the grant is gone, nothing was granted by default.
      expect((await dan.client.get('/api/grants/current')).status).toBe(401);
      await signIn(isolated, { username: 'dan', password: 'the dong with a luminous nose', authenticator: dan.authenticator });
    } finally {
      await isolated.destroy();
      await redis.stop();
    }
  });
});
