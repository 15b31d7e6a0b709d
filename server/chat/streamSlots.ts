import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';

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

/** Why a stream slot was refused: too many requests this minute, or too many answers streaming. */
export type SlotRefusal = { reason: 'rate_limited'; retryAfterSeconds: number } | { reason: 'too_many_streams'; maxStreams: number };

export type SlotClaim = { claimed: true; release: () => Promise<void> } | ({ claimed: false } & SlotRefusal);

/** Takes one of the user's stream slots, or says why not; `release` gives it back. */
export async function claimStreamSlot(redis: Redis, limits: Config['chat'], userId: string): Promise<SlotClaim> {
  if (!prepared.has(redis)) {
    redis.defineCommand('claimChatStream', { numberOfKeys: 2, lua: CLAIM });
    prepared.add(redis);
  }
  // One hash tag per user keeps both keys in one slot under Redis Cluster.
  const rateKey = `chat:{${userId}}:rate`;
  const streamsKey = `chat:{${userId}}:streams`;
  const [verdict, resetMs] = await (redis as ClaimingRedis).claimChatStream(rateKey, streamsKey, limits.requestsPerMinute, limits.maxConcurrentStreams);
  if (verdict === 0) return { claimed: false, reason: 'rate_limited', retryAfterSeconds: Math.max(1, Math.ceil(resetMs / 1000)) };
  if (verdict === 1) return { claimed: false, reason: 'too_many_streams', maxStreams: limits.maxConcurrentStreams };
  return {
    claimed: true,
    release: async () => {
      await redis.decr(streamsKey).catch(() => undefined);
    },
  };
}
