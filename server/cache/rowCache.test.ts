import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PublicUser } from '../../shared/api.ts';
import { createPool } from '../db/pool.ts';
import { createLogger } from '../log.ts';
import { enrollUser, startTestNode, type TestNode } from '../test/harness.ts';
import { RowCache } from './rowCache.ts';

describe('RowCache', () => {
  it('reads through while not live, and caches once live', async () => {
    const cache = new RowCache<string>(60_000, 10);
    let loads = 0;
    const load = async (id: string) => (loads++, `row ${id}`);
    await cache.get('a', load);
    await cache.get('a', load);
    expect(loads).toBe(2);
    cache.setLive(true);
    await cache.get('a', load);
    await cache.get('a', load);
    expect(loads).toBe(3);
    cache.setLive(false);
    await cache.get('a', load);
    expect(loads).toBe(4);
  });

  it('does not store a row read before an invalidation that arrived while it was read', async () => {
    const cache = new RowCache<string>(60_000, 10);
    cache.setLive(true);
    let release!: () => void;
    const slow = cache.get('a', () => new Promise((resolve) => (release = () => resolve('old'))));
    cache.invalidate('a');
    release();
    expect(await slow).toBe('old');
    expect(await cache.get('a', async () => 'new')).toBe('new');
  });

  it('expires entries and keeps at most maxEntries', async () => {
    const cache = new RowCache<string>(1, 2);
    cache.setLive(true);
    await cache.get('a', async () => 'a1');
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await cache.get('a', async () => 'a2')).toBe('a2');
    await cache.get('b', async () => 'b');
    await cache.get('c', async () => 'c');
    expect(cache.size).toBe(2);
  });

  it('never caches a missing row', async () => {
    const cache = new RowCache<string>(60_000, 10);
    cache.setLive(true);
    expect(await cache.get('x', async () => null)).toBeNull();
    expect(await cache.get('x', async () => 'now here')).toBe('now here');
  });
});

describe('cached users, models and sessions across nodes', () => {
  let nodeA: TestNode;
  let nodeB: TestNode;
  beforeAll(async () => {
    nodeA = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
    nodeB = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' }, { databaseUrl: nodeA.databaseUrl, redisPrefix: nodeA.redisPrefix });
    for (let tries = 0; !(nodeA.deps.rows.users.isLive && nodeB.deps.rows.users.isLive); tries++) {
      if (tries > 200) throw new Error('row change listeners did not start');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
  afterAll(async () => {
    await nodeB.destroy();
    await nodeA.destroy();
  });

  it('a role changed on any node takes effect on the next request to every node', async () => {
    const admin = await enrollUser(nodeA, { username: 'ada', role: 'admin' });
    const bClient = admin.client.sameSessionOn(nodeB);
    expect((await bClient.get('/api/admin/users')).status).toBe(200); // now cached on B as an admin
    expect(nodeB.deps.rows.users.size).toBeGreaterThan(0);
    await nodeA.deps.pool.query(`UPDATE app_user SET role = 'user' WHERE id = $1`, [admin.userId]);
    await expect.poll(async () => (await bClient.get('/api/admin/users')).status, { timeout: 1_000, interval: 5 }).toBe(403);
    expect((await bClient.get<{ user: PublicUser }>('/api/session')).body.user?.role).toBe('user');
  });

  it('a session signed out through one node is refused at once by another that holds it in memory', async () => {
    const user = await enrollUser(nodeA, { username: 'dov' });
    const bClient = user.client.sameSessionOn(nodeB);
    expect((await bClient.get('/api/session')).body).toMatchObject({ user: { username: 'dov' } });
    // The first request's refresh of the session's lifetime (a PEXPIRE) evicted it; the next reads it again.
    await bClient.get('/api/session');
    const hits = nodeB.deps.sessions.readCacheCounts()?.hits ?? 0;
    expect((await bClient.get('/api/session')).body).toMatchObject({ user: { username: 'dov' } });
    expect(nodeB.deps.sessions.readCacheCounts()?.hits).toBe(hits + 1); // answered from B's memory
    expect((await user.client.post('/api/auth/signout', {})).status).toBeLessThan(300);
    await expect.poll(async () => (await bClient.get('/api/session')).body, { timeout: 1_000, interval: 5 }).toMatchObject({ signedIn: false });
  });

  it('reads every session from Redis on a node started with SESSION_CACHE_SECONDS=0', async () => {
    const nodeC = await startTestNode({ SESSION_CACHE_SECONDS: '0' }, { databaseUrl: nodeA.databaseUrl, redisPrefix: nodeA.redisPrefix });
    try {
      expect(nodeC.deps.sessions.readCacheCounts()).toBeNull();
      expect(nodeB.deps.sessions.readCacheCounts()).not.toBeNull();
    } finally {
      await nodeC.close();
    }
  });

  it('a model disabled on any node is refused at once by every node', async () => {
    const user = await enrollUser(nodeA, { username: 'bea' });
    const bClient = user.client.sameSessionOn(nodeB);
    const ask = async () => {
      const response = await fetch(`${nodeB.url}/api/chat/stream`, {
        method: 'POST',
        headers: { origin: bClient.origin, cookie: bClient.cookie!, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'demo-standard', messages: [{ role: 'user', content: 'hi' }] }),
      });
      await response.body?.cancel();
      return response;
    };
    expect((await ask()).status).toBe(200);
    await nodeA.deps.pool.query(`UPDATE model SET enabled = false WHERE id = 'demo-standard'`);
    try {
      await expect.poll(async () => (await ask()).status, { timeout: 1_000, interval: 5 }).toBe(404);
    } finally {
      await nodeA.deps.pool.query(`UPDATE model SET enabled = true WHERE id = 'demo-standard'`);
    }
  });

  it('stops caching while its change notifications cannot arrive', async () => {
    const user = await enrollUser(nodeA, { username: 'cai', role: 'admin' });
    const admin = createPool(nodeA.databaseUrl, createLogger('silent'), 1);
    try {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN argus_row_changed%'`);
      await expect.poll(() => nodeA.deps.rows.users.isLive).toBe(false);
      expect(nodeA.deps.rows.users.size).toBe(0);
      // While the listener is down, a change must still be seen at once: reads go to Postgres.
      await admin.query(`UPDATE app_user SET role = 'user' WHERE id = $1`, [user.userId]);
      expect((await user.client.get('/api/admin/users')).status).toBe(403);
      // And the listener comes back by itself.
      await expect.poll(() => nodeA.deps.rows.users.isLive, { timeout: 5_000 }).toBe(true);
    } finally {
      await admin.end();
    }
  });
});
