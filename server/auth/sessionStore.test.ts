import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type session from 'express-session';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openSession, RedisSessionStore } from './sessionStore.ts';
import { TEST_REDIS_URL, clearRedisPrefix } from '../test/env.ts';
import { testSessionIntegrity } from '../test/sessionIntegrity.ts';

const prefix = `argus-test:${randomBytes(6).toString('hex')}:`;
let redis: Redis;
const integrity = testSessionIntegrity();

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL, { keyPrefix: prefix });
});
afterAll(async () => {
  redis.disconnect();
  await clearRedisPrefix(prefix, TEST_REDIS_URL);
});

const data = (maxAge: number) => ({ cookie: { maxAge, originalMaxAge: maxAge }, stage: 'full', userId: 'u1' }) as unknown as session.SessionData;
const call = (fn: (callback: (err?: unknown) => void) => void) =>
  new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err as Error) : resolve())));

describe('RedisSessionStore.touch', () => {
  it('refreshes a session at most once per interval on one node, then again after it', async () => {
    const store = new RedisSessionStore(redis, integrity, 60_000, 60_000, 200);
    await call((cb) => store.set('s1', data(1_000), cb));
    const multi = vi.spyOn(redis, 'multi');
    await call((cb) => store.touch('s1', data(60_000), cb));
    expect(await redis.pttl('sess:s1')).toBeGreaterThan(50_000);
    await call((cb) => store.touch('s1', data(120_000), cb));
    await call((cb) => store.touch('s1', data(120_000), cb));
    expect(multi).toHaveBeenCalledTimes(1);
    expect(await redis.pttl('sess:s1')).toBeLessThanOrEqual(60_000);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await call((cb) => store.touch('s1', data(120_000), cb));
    expect(multi).toHaveBeenCalledTimes(2);
    expect(await redis.pttl('sess:s1')).toBeGreaterThan(60_000);
    multi.mockRestore();
  });

  it('throttles each session on its own, and forgets a destroyed one', async () => {
    const store = new RedisSessionStore(redis, integrity, 60_000, 60_000, 60_000);
    await call((cb) => store.set('a', data(1_000), cb));
    await call((cb) => store.set('b', data(1_000), cb));
    const multi = vi.spyOn(redis, 'multi');
    await call((cb) => store.touch('a', data(60_000), cb));
    await call((cb) => store.touch('b', data(60_000), cb));
    expect(multi).toHaveBeenCalledTimes(2);
    await call((cb) => store.destroy('a', cb));
    await call((cb) => store.set('a', data(1_000), cb));
    multi.mockClear();
    await call((cb) => store.touch('a', data(60_000), cb));
    expect(multi).toHaveBeenCalledTimes(1);
    multi.mockRestore();
  });
});

describe('RedisSessionStore.set', () => {
  const load = (store: RedisSessionStore, sid: string) =>
    new Promise<session.Session & session.SessionData>((resolve, reject) =>
      store.load(sid, (err, loaded) => (err || !loaded ? reject(new Error(`session ${sid} not loaded`)) : resolve(loaded as session.Session & session.SessionData))),
    );

  it('never brings back a session that was ended while a request held it', async () => {
    const store = new RedisSessionStore(redis, integrity, 60_000, 60_000);
    await call((cb) => store.set('held', data(60_000), cb));
    const loaded = await load(store, 'held');
    // Signed out (or its key suspended) on another request while this one ran; this one then saves.
    await call((cb) => store.destroy('held', cb));
    loaded.stepUpAt = Date.now();
    await call((cb) => store.set('held', loaded, cb));
    expect(await redis.exists('sess:held')).toBe(0);
    expect(await redis.zscore('live-sessions', 'held')).toBeNull();
  });

  it('saves a loaded session that still exists, and creates new ones as before', async () => {
    const store = new RedisSessionStore(redis, integrity, 60_000, 60_000);
    await call((cb) => store.set('kept', data(60_000), cb));
    const loaded = await load(store, 'kept');
    loaded.stepUpAt = 1234;
    await call((cb) => store.set('kept', loaded, cb));
    expect(openSession(integrity.mac, 'kept', (await redis.get('sess:kept'))!)).toMatchObject({ data: { stepUpAt: 1234 } });
    expect(await redis.pttl('sess:kept')).toBeGreaterThan(50_000);
  });
});
