import type session from 'express-session';
import { Redis } from 'ioredis';
import { connect, createServer, type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../log.ts';
import { testSessionIntegrity } from '../test/sessionIntegrity.ts';
import { ThrowawayRedis } from '../test/throwawayRedis.ts';
import { SessionReadCache } from './sessionReadCache.ts';
import { RedisSessionStore } from './sessionStore.ts';

// A Redis of its own: these tests kill its connections, flush it and restart it.
let server: ThrowawayRedis;
const prefix = 'argus:';
const opened: Array<{ close(): Promise<void> }> = [];
// Every node here shares one record key, as a deployment's nodes do.
const integrity = testSessionIntegrity();

beforeAll(async () => {
  server = await ThrowawayRedis.start();
});
afterEach(async () => {
  for (const node of opened.splice(0)) await node.close();
});
afterAll(async () => {
  await server.stop();
});

/** One Argus node's view of the sessions: its main client, its read cache and the store over both. */
async function node({ ttlMs = 10_000, cacheUrl = server.url, armed = true, heartbeatMs = 2_000 } = {}) {
  const redis = new Redis(server.url, { keyPrefix: prefix, maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(n * 50, 500) });
  redis.on('error', () => undefined);
  const cache = await SessionReadCache.connect({ url: cacheUrl, keyPrefix: prefix, sentinel: null, log: createLogger('silent'), fallback: redis, ttlMs, heartbeatMs });
  const store = new RedisSessionStore(redis, integrity, 60_000, 60_000, 5_000, cache);
  const handle = {
    redis,
    cache,
    store,
    get: (sid: string) => new Promise<session.SessionData | null>((resolve, reject) => store.get(sid, (err, data) => (err ? reject(err as Error) : resolve(data ?? null)))),
    set: (sid: string, data: session.SessionData) => new Promise<void>((resolve, reject) => store.set(sid, data, (err) => (err ? reject(err as Error) : resolve()))),
    destroy: (sid: string) => new Promise<void>((resolve, reject) => store.destroy(sid, (err) => (err ? reject(err as Error) : resolve()))),
    /** The Redis connection (ioredis's socket) that carries the invalidations to this node. */
    subscriberSocket: () => (cache as unknown as { subscriber: { stream: import('node:net').Socket } }).subscriber.stream,
    readerSocket: () => (cache as unknown as { reader: { stream: import('node:net').Socket } }).reader.stream,
    async close() {
      await store.close();
      redis.disconnect();
    },
  };
  opened.push(handle);
  if (armed) await expect.poll(() => cache.isLive, { timeout: 2_000, interval: 5 }).toBe(true);
  return handle;
}

const signedIn = (label: string) => ({ cookie: { maxAge: 60_000, originalMaxAge: 60_000 }, stage: 'full', userId: 'u1', label }) as unknown as session.SessionData;
const labelOf = (data: session.SessionData | null) => (data as { label?: string } | null)?.label ?? null;

describe('SessionReadCache', () => {
  it('answers a repeated read from memory, with a copy of its own each time', async () => {
    const a = await node();
    await a.set('s1', signedIn('v1'));
    const first = await a.get('s1');
    const second = await a.get('s1');
    expect(labelOf(second)).toBe('v1');
    expect(a.cache.counts).toMatchObject({ hits: 1, misses: 1 });
    // express-session changes the object it is given: no two requests may share one.
    expect(second).not.toBe(first);
  });

  it('drops a session another node changes, and reads the change on the next request', async () => {
    const [a, b] = [await node(), await node()];
    await a.set('s1', signedIn('v1'));
    await b.get('s1');
    expect(labelOf(await b.get('s1'))).toBe('v1');
    expect(b.cache.counts.hits).toBe(1);
    await a.set('s1', signedIn('v2'));
    await expect.poll(async () => labelOf(await b.get('s1')), { timeout: 1_000, interval: 5 }).toBe('v2');
  });

  it('refuses a session another node ended (signed out) on the next request', async () => {
    const [a, b] = [await node(), await node()];
    await a.set('s1', signedIn('v1'));
    await b.get('s1');
    await b.get('s1');
    await a.destroy('s1');
    await expect.poll(() => b.get('s1'), { timeout: 1_000, interval: 5 }).toBeNull();
  });

  it("reads this node's own change back at once, without waiting for Redis to announce it", async () => {
    const a = await node();
    await a.set('s1', signedIn('v1'));
    await a.get('s1');
    // Invalidations held back: only the node's own eviction can make the next read fresh.
    a.subscriberSocket().pause();
    await a.set('s1', signedIn('v2'));
    expect(labelOf(await a.get('s1'))).toBe('v2');
    await a.destroy('s1');
    expect(await a.get('s1')).toBeNull();
    a.subscriberSocket().resume();
  });

  it('keeps an entry no longer than its lifetime, should an invalidation be lost', async () => {
    const [a, b] = [await node(), await node({ ttlMs: 200 })];
    await a.set('s1', signedIn('v1'));
    await b.get('s1');
    b.subscriberSocket().pause();
    await a.set('s1', signedIn('v2'));
    expect(labelOf(await b.get('s1'))).toBe('v1'); // the bound this test is about
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(labelOf(await b.get('s1'))).toBe('v2');
    b.subscriberSocket().resume();
  });

  it('does not keep what a read brought back if an invalidation came while it was under way', async () => {
    const [a, b] = [await node(), await node()];
    await a.set('s1', signedIn('v1'));
    // The reply to B's read waits in its socket while A's change and its invalidation go through.
    b.readerSocket().pause();
    const reading = b.get('s1');
    await new Promise((resolve) => setTimeout(resolve, 20));
    await a.set('s1', signedIn('v2'));
    await expect.poll(() => b.cache.counts.invalidations, { timeout: 1_000, interval: 5 }).toBeGreaterThan(0);
    b.readerSocket().resume();
    expect(labelOf(await reading)).toBe('v1');
    expect(labelOf(await b.get('s1'))).toBe('v2');
  });

  it('applies an invalidation that reached the node with a request before answering that request from memory', async () => {
    const [a, b] = [await node(), await node()];
    await a.set('s1', signedIn('v1'));
    await b.get('s1');
    // A "request" (bytes on a socket of B's) arrives, then the invalidation of A's change, while
    // B's loop is busy: B's next wait for I/O finds both, the request first, and B reads the
    // session while handling it.
    const answered = new Promise<string | null>((resolve, reject) => {
      const listener = createServer((socket) => socket.once('data', () => b.get('s1').then((data) => resolve(labelOf(data)), reject)));
      opened.push({ close: () => new Promise((done) => listener.close(() => done())) });
      listener.listen(0, '127.0.0.1', () => {
        const client = connect((listener.address() as AddressInfo).port, '127.0.0.1', () => {
          setTimeout(() => {
            client.end('x');
            void a.set('s1', signedIn('v2'));
            const until = Date.now() + 30;
            while (Date.now() < until);
          }, 20);
        });
      });
    });
    expect(await answered).toBe('v2');
  });

  it('never caches a missing session', async () => {
    const [a, b] = [await node(), await node()];
    expect(await b.get('s9')).toBeNull();
    b.subscriberSocket().pause();
    await a.set('s9', signedIn('v1'));
    expect(labelOf(await b.get('s9'))).toBe('v1');
    b.subscriberSocket().resume();
  });

  /**
   * Cuts B's link to Redis with `cut`; then B must stop using its cache (so a change it cannot
   * hear of is read fresh), reconnect, arm again, and hear of changes again.
   */
  async function offWhileCutThenBack(cut: (b: Awaited<ReturnType<typeof node>>, a: Awaited<ReturnType<typeof node>>) => Promise<unknown>, options: Parameters<typeof node>[0] = {}) {
    const [a, b] = [await node(), await node(options)];
    await a.set('s1', signedIn('v1'));
    await b.get('s1');
    await cut(b, a);
    await expect.poll(() => b.cache.isLive, { timeout: 1_000, interval: 5 }).toBe(false);
    // Changed while nothing could tell B: B must not answer from what it had.
    await a.set('s1', signedIn('v2'));
    expect(labelOf(await b.get('s1'))).toBe('v2');
    await expect.poll(() => b.cache.isLive, { timeout: 3_000, interval: 10 }).toBe(true);
    // Armed again (under the subscriber's new id, if it was the one cut): used, and changes are announced again.
    const hits = b.cache.counts.hits;
    await b.get('s1');
    await b.get('s1');
    expect(b.cache.counts.hits).toBeGreaterThan(hits);
    await a.set('s1', signedIn('v3'));
    await expect.poll(async () => labelOf(await b.get('s1')), { timeout: 1_000, interval: 5 }).toBe('v3');
  }

  it('turns itself off while its subscriber is disconnected, and back on when it is back', async () => {
    await offWhileCutThenBack(async (b, a) => a.redis.client('KILL', 'ID', String(b.cache.subscriberClientId())));
  });

  it('turns itself off when its subscriber stops answering without the connection closing', async () => {
    // A link that died silently: nothing more is read from it, and no 'close' comes.
    await offWhileCutThenBack(async (b) => b.subscriberSocket().pause(), { heartbeatMs: 100 });
  });

  it('turns itself off while its tracked reader is disconnected', async () => {
    await offWhileCutThenBack(async (b, a) => a.redis.client('KILL', 'ID', await b.cache.readerClientId()));
  });

  it('empties when the database is flushed', async () => {
    const [a, b] = [await node(), await node()];
    await a.set('s1', signedIn('v1'));
    await a.set('s2', signedIn('v1'));
    await b.get('s1');
    await b.get('s2');
    expect(b.cache.size).toBe(2);
    await a.redis.flushdb();
    await expect.poll(() => b.cache.size, { timeout: 1_000, interval: 5 }).toBe(0);
    expect(await b.get('s1')).toBeNull();
  });

  it('stays off, and every read goes to Redis, where an ACL forbids CLIENT TRACKING', async () => {
    const admin = new Redis(server.url);
    await admin.acl('SETUSER', 'no-tracking', 'on', '>secret', '~*', '&*', '+@all', '-client');
    admin.disconnect();
    const [a, b] = [await node(), await node({ cacheUrl: `redis://no-tracking:secret@127.0.0.1:${server.port}`, armed: false })];
    expect(b.cache.isLive).toBe(false);
    await a.set('s1', signedIn('v1'));
    expect(labelOf(await b.get('s1'))).toBe('v1');
    await a.set('s1', signedIn('v2'));
    expect(labelOf(await b.get('s1'))).toBe('v2');
    expect(b.cache.counts).toMatchObject({ hits: 0, bypassed: 2 });
  });

  it('fails a read, as the store does without it, while Redis is down; and caches again once Redis is back', async () => {
    const a = await node();
    await a.set('s1', signedIn('v1'));
    await a.get('s1');
    await server.stop();
    try {
      await expect.poll(() => a.cache.isLive, { timeout: 2_000, interval: 5 }).toBe(false);
      await expect(a.get('s1')).rejects.toThrow();
    } finally {
      await server.start();
    }
    // A restarted Redis has forgotten what it tracked: the cache must arm itself afresh.
    await expect.poll(() => a.cache.isLive, { timeout: 5_000, interval: 20 }).toBe(true);
    await a.set('s1', signedIn('v2'));
    await a.get('s1');
    const b = await node();
    await b.set('s1', signedIn('v3'));
    await expect.poll(async () => labelOf(await a.get('s1')), { timeout: 1_000, interval: 5 }).toBe('v3');
  });
});
