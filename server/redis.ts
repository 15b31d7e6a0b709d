import { Redis, type RedisOptions } from 'ioredis';
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
