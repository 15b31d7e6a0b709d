import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { HttpError, rateLimited } from '../http/errors.ts';

/**
 * Both per-user chat limits in one Redis round trip (this runs before every answer's first
 * byte): a fixed window of requests per minute, then a count of streams open across all
 * nodes. A request refused by the window is still counted in it; a request refused for
 * too many streams does not keep its stream slot.
 * Returns { 0, ms until the window resets } or { 1, 0 } (too many streams) or { 2, 0 }.
 */
const CLAIM = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], 60000) end
if n > tonumber(ARGV[1]) then return {0, redis.call('PTTL', KEYS[1])} end
local open = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 900)
if open > tonumber(ARGV[2]) then
  redis.call('DECR', KEYS[2])
  return {1, 0}
end
return {2, 0}
`;

type ClaimingRedis = Redis & { claimChatStream(rateKey: string, streamsKey: string, perMinute: number, maxStreams: number): Promise<[number, number]> };

const prepared = new WeakSet<Redis>();

/** Takes one of the user's stream slots (or refuses with 429); the returned function gives it back. */
export async function claimStreamSlot(redis: Redis, limits: Config['chat'], userId: string): Promise<() => Promise<void>> {
  if (!prepared.has(redis)) {
    redis.defineCommand('claimChatStream', { numberOfKeys: 2, lua: CLAIM });
    prepared.add(redis);
  }
  // One hash tag per user keeps both keys in one slot under Redis Cluster.
  const rateKey = `chat:{${userId}}:rate`;
  const streamsKey = `chat:{${userId}}:streams`;
  const [verdict, resetMs] = await (redis as ClaimingRedis).claimChatStream(rateKey, streamsKey, limits.requestsPerMinute, limits.maxConcurrentStreams);
  if (verdict === 0) throw rateLimited(Math.max(1, Math.ceil(resetMs / 1000)), 'You are sending messages too fast. Wait a moment.');
  if (verdict === 1) {
    throw new HttpError(429, 'TOO_MANY_STREAMS', `You can have at most ${limits.maxConcurrentStreams} answers streaming at once.`, { retryAfter: 5 });
  }
  return async () => {
    await redis.decr(streamsKey).catch(() => undefined);
  };
}
