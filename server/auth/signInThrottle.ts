import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfter: number };

/**
 * Sign-in throttles, checked before any password is hashed:
 * - per IP: N attempts a minute, counted on every attempt;
 * - per username: N failures in a window, counted only on failure, cleared on success.
 * Keys are the limiter's prefix plus the IP or the lower-cased username.
 * If Redis cannot answer, the error propagates and the request fails closed.
 */
export class SignInThrottle {
  private readonly perIp: RateLimiterRedis;
  private readonly perUsername: RateLimiterRedis;

  constructor(redis: Redis, limits: { signinPerMinutePerIp: number; signinFailuresPerUsername: number; signinFailureWindowMinutes: number }) {
    this.perIp = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'rl:signin-ip', points: limits.signinPerMinutePerIp, duration: 60 });
    this.perUsername = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: 'rl:signin-user',
      points: limits.signinFailuresPerUsername,
      duration: limits.signinFailureWindowMinutes * 60,
    });
  }

  /** Counts this attempt against the IP. */
  async consumeIp(ip: string): Promise<ThrottleVerdict> {
    try {
      await this.perIp.consume(ip);
      return { allowed: true };
    } catch (rejection) {
      return blocked(rejection);
    }
  }

  /** Reads, without counting, whether this username is locked by earlier failures. */
  async checkUsername(username: string): Promise<ThrottleVerdict> {
    const state = await this.perUsername.get(username.toLowerCase());
    if (state && state.remainingPoints <= 0) return { allowed: false, retryAfter: seconds(state.msBeforeNext) };
    return { allowed: true };
  }

  async recordFailure(username: string): Promise<void> {
    await this.perUsername.penalty(username.toLowerCase(), 1);
  }

  async clearFailures(username: string): Promise<void> {
    await this.perUsername.delete(username.toLowerCase());
  }
}

function blocked(rejection: unknown): ThrottleVerdict {
  // rate-limiter-flexible rejects with a RateLimiterRes when the limit is hit and with an
  // Error when the store fails; only the first is a verdict.
  if (rejection instanceof RateLimiterRes) return { allowed: false, retryAfter: seconds(rejection.msBeforeNext) };
  throw rejection;
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
