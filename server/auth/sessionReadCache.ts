import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { sessionCacheReads } from '../metrics.ts';
import { connectRedis, createRedisClient } from '../redis.ts';

/**
 * Serves repeated reads of the same session from this node's memory, using Redis's
 * server-assisted client-side caching (CLIENT TRACKING): Redis remembers which keys the
 * tracked reader connection has read and, the moment one is written, deleted, expired or
 * flushed by anyone, sends its name to this node's subscriber connection, and the entry goes.
 *
 * It follows the row cache's rule (cache/rowCache.ts): it is used only while invalidations
 * can arrive. Either connection closing empties it and sends every read to Redis until both
 * are back and tracking is on again. The subscriber is pinged every `heartbeatMs`, and one
 * that does not answer within as long (a connection dead without having closed) counts as
 * closed. An entry lives at most `ttlMs` however it was kept, which bounds what an
 * invalidation lost any other way could leave behind.
 *
 * A hit is answered only after the rest of the node's pending I/O has been handled
 * (setImmediate), so an invalidation that the node's loop found together with the request is
 * applied first.
 * Missing sessions are never cached. Each hit returns the JSON text; the caller parses it,
 * so no two requests share (and mutate) one session object.
 */
export class SessionReadCache {
  private readonly entries = new Map<string, { json: string; expires: number }>();
  /** Reads under way, by key: an invalidation of the key (or any change of liveness) removes its token, and the read then stores nothing. */
  private readonly reading = new Map<string, object>();
  /** Bumped whenever the cache turns on or off, so an arming that a dropped connection overtook does not turn it on. */
  private generation = 0;
  private live = false;
  /** The subscriber's CLIENT ID while it is connected and subscribed. */
  private subscriberId: string | null = null;
  private closed = false;
  private heartbeat: NodeJS.Timeout | null = null;
  /** Arming runs one at a time: connection events can ask for it while it is under way. */
  private arming: Promise<void> = Promise.resolve();
  readonly counts = { hits: 0, misses: 0, bypassed: 0, invalidations: 0 };

  private constructor(
    /** Tracked: reads only sessions, so Redis tracks nothing else for it. */
    private readonly reader: Redis,
    /** RESP2, subscribed to __redis__:invalidate (ioredis surfaces RESP3 invalidation pushes to no one). */
    private readonly subscriber: Redis,
    /** Used while the cache is not live, so reads behave exactly as without it. */
    private readonly fallback: Redis,
    private readonly keyPrefix: string,
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly log: Logger,
  ) {}

  /**
   * Opens the reader and subscriber beside `fallback` (the node's main client). Start-up does not
   * fail if tracking cannot be switched on: the cache then stays off, and reads go to `fallback`.
   */
  static async connect({
    url,
    keyPrefix,
    sentinel,
    log,
    fallback,
    ttlMs,
    maxEntries = 50_000,
    heartbeatMs = 2_000,
  }: {
    url: string;
    keyPrefix: string;
    sentinel: Config['redisSentinel'];
    log: Logger;
    fallback: Redis;
    ttlMs: number;
    maxEntries?: number;
    heartbeatMs?: number;
  }): Promise<SessionReadCache> {
    const reader = await connectRedis(url, keyPrefix, log, sentinel);
    const subscriber = createRedisClient(url, sentinel, {
      protocol: 2,
      lazyConnect: true,
      autoResubscribe: false,
      enableOfflineQueue: false,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    const cache = new SessionReadCache(reader, subscriber, fallback, keyPrefix, ttlMs, maxEntries, log);
    cache.listen();
    cache.startHeartbeat(heartbeatMs);
    await subscriber.connect().catch((error: unknown) => log.warn({ err: (error as Error).message }, 'session cache subscriber not connected; the cache is off'));
    await cache.arm();
    return cache;
  }

  private listen(): void {
    // Errors are logged by the main client's handler already; the cache only needs to stop.
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('close', () => {
      this.subscriberId = null;
      this.setLive(false);
    });
    this.reader.on('close', () => this.setLive(false));
    this.subscriber.on('ready', () => void this.arm());
    this.reader.on('ready', () => void this.arm());
    this.subscriber.on('messageBuffer', (channel: Buffer, keys: Buffer[] | null) => {
      if (String(channel) !== INVALIDATE_CHANNEL) return;
      this.counts.invalidations++;
      // A null list means the whole database was flushed.
      if (keys === null || !Array.isArray(keys)) return this.clear();
      for (const key of keys) this.evictRedisKey(String(key));
    });
  }

  private startHeartbeat(everyMs: number): void {
    this.heartbeat = setInterval(() => {
      if (!this.live) return;
      const silence = setTimeout(() => {
        this.log.warn('session cache subscriber stopped answering: the cache is off until it reconnects');
        this.setLive(false);
        this.subscriber.disconnect(true);
      }, everyMs);
      // A ping refused because the connection closed needs nothing more: 'close' turned the cache off.
      this.subscriber.ping().then(
        () => clearTimeout(silence),
        () => clearTimeout(silence),
      );
    }, everyMs);
    this.heartbeat.unref();
  }

  /** Subscribes (once per subscriber connection) and turns tracking on for the reader, redirected to it. */
  private arm(): Promise<void> {
    this.arming = this.arming.then(() => this.armOnce());
    return this.arming;
  }

  private async armOnce(): Promise<void> {
    if (this.live) return;
    if (this.closed || this.subscriber.status !== 'ready' || this.reader.status !== 'ready') return;
    const generation = this.generation;
    try {
      if (this.subscriberId === null) {
        const id = String(await this.subscriber.client('ID'));
        await this.subscriber.subscribe(INVALIDATE_CHANNEL);
        this.subscriberId = id;
      }
      await this.reader.client('TRACKING', 'ON', 'REDIRECT', this.subscriberId);
      // A connection that dropped while this ran bumped the generation; its own 'ready' arms again.
      if (generation === this.generation && this.subscriber.status === 'ready' && this.reader.status === 'ready') this.setLive(true);
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'session cache not armed; reads go to Redis');
    }
  }

  /** The JSON stored at `key` (without the client's key prefix), or null. */
  async get(key: string): Promise<string | null> {
    if (!this.live) {
      this.count('bypassed');
      return this.fallback.get(key);
    }
    const hit = this.entries.get(key);
    if (hit && hit.expires > Date.now()) {
      await new Promise((resolve) => setImmediate(resolve));
      // Still there after the pending I/O (invalidations included) has been handled?
      const current = this.entries.get(key);
      if (current === hit) {
        this.count('hits');
        return hit.json;
      }
    }
    this.count('misses');
    const token = {};
    this.reading.set(key, token);
    const done = () => {
      const ours = this.reading.get(key) === token;
      if (ours) this.reading.delete(key);
      return ours;
    };
    const json = await this.reader.get(key).catch((error: unknown) => {
      done();
      throw error;
    });
    // Kept only if nothing invalidated the key (and no later read of it began) while this one was under way.
    if (done() && json !== null && this.live) {
      this.entries.delete(key);
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { json, expires: Date.now() + this.ttlMs });
    }
    return json;
  }

  private count(result: 'hits' | 'misses' | 'bypassed'): void {
    this.counts[result]++;
    READ_COUNTERS[result].inc();
  }

  /** This node is about to change `key`: forget it now rather than when Redis says so. */
  evict(key: string): void {
    this.reading.delete(key);
    this.entries.delete(key);
  }

  private evictRedisKey(redisKey: string): void {
    if (!redisKey.startsWith(this.keyPrefix)) return;
    this.evict(redisKey.slice(this.keyPrefix.length));
  }

  private clear(): void {
    this.reading.clear();
    this.entries.clear();
  }

  private setLive(live: boolean): void {
    this.live = live;
    this.generation++;
    this.clear();
  }

  /** The connections' ids on the server (for tests and diagnostics). */
  subscriberClientId(): string | null {
    return this.subscriberId;
  }

  async readerClientId(): Promise<string> {
    return String(await this.reader.client('ID'));
  }

  get isLive(): boolean {
    return this.live;
  }

  get size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.setLive(false);
    await Promise.all([this.reader.quit().catch(() => this.reader.disconnect()), this.subscriber.quit().catch(() => this.subscriber.disconnect())]);
  }
}

const INVALIDATE_CHANNEL = '__redis__:invalidate';

/** The read counter's three series, bound once rather than looked up by label on every read. */
const READ_COUNTERS = {
  hits: sessionCacheReads.labels({ result: 'hit' }),
  misses: sessionCacheReads.labels({ result: 'miss' }),
  bypassed: sessionCacheReads.labels({ result: 'bypassed' }),
};
