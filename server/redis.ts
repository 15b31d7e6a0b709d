import { Redis } from 'ioredis';
import type { Logger } from './log.ts';

/**
 * An ioredis client that fails fast instead of queueing while Redis is away, so requests
 * fail closed with a clear error (DESIGN.md invariant 4) and recover when it returns.
 */
export async function connectRedis(url: string, keyPrefix: string, log: Logger): Promise<Redis> {
  const redis = new Redis(url, {
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
