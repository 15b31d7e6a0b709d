import { Redis, type ClientContext, type RedisOptions, type Result } from 'ioredis';
import type { Config } from './config.ts';
import type { Logger } from './log.ts';

/**
 * A client for `url`, or, with Sentinel, for the master the sentinels name (the URL then
 * gives only credentials, database and TLS). Every Argus Redis connection is made here.
 */
export function createRedisClient(url: string, sentinel: Config['redisSentinel'], options: RedisOptions): Redis {
  if (!sentinel) return new Redis(url, options);
  return new Redis(url, {
    ...options,
    sentinels: sentinel.sentinels,
    name: sentinel.name,
    ...(sentinel.password ? { sentinelPassword: sentinel.password } : {}),
    // Keep asking the sentinels while they elect a new master.
    sentinelRetryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
}

/**
 * An ioredis client that fails fast instead of queueing while Redis is away, so requests
 * fail closed with a clear error (docs/architecture.md invariant 4) and recover when it returns.
 */
export async function connectRedis(url: string, keyPrefix: string, log: Logger, sentinel: Config['redisSentinel'] = null): Promise<Redis> {
  const redis = createRedisClient(url, sentinel, {
    keyPrefix,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    // Keep trying to reconnect, at most every 2 s.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) log.error({ err: error.message }, 'redis connection error');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info('redis connection restored');
    down = false;
  });
  await redis.connect();
  return redis;
}

const COMPARE_AND_DELETE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * Adds `compareAndDelete(key, expected)` to a client: deletes the key only while it still holds
 * `expected` (1 if it did), so a refused record is removed without removing a genuine one
 * written since. Defining it again is harmless.
 */
export function defineCompareAndDelete(redis: Redis): void {
  redis.defineCommand('compareAndDelete', { numberOfKeys: 1, lua: COMPARE_AND_DELETE });
}

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    compareAndDelete(key: string, expected: string): Result<number, Context>;
  }
}
