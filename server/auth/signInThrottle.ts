import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/** `firstRefusal`: this attempt is the one that tripped the limit (later ones in the window are not). */
export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfter: number; firstRefusal?: boolean };

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
      return blocked(rejection, this.perIp.points);
    }
  }

  /** Reads, without counting, whether this username is locked by earlier failures. */
  async checkUsername(username: string): Promise<ThrottleVerdict> {
    const state = await this.perUsername.get(username.toLowerCase());
    if (state && state.remainingPoints <= 0) return { allowed: false, retryAfter: seconds(state.msBeforeNext) };
    return { allowed: true };
  }

  /** Counts a failure; `locked` is true for the failure that used up the username's budget. */
  async recordFailure(username: string): Promise<{ locked: boolean }> {
    const state = await this.perUsername.penalty(username.toLowerCase(), 1);
    return { locked: state.consumedPoints === this.perUsername.points };
  }

  async clearFailures(username: string): Promise<void> {
    await this.perUsername.delete(username.toLowerCase());
  }
}

function blocked(rejection: unknown, points: number): ThrottleVerdict {
  // rate-limiter-flexible rejects with a RateLimiterRes when the limit is hit and with an
  // Error when the store fails; only the first is a verdict.
  if (rejection instanceof RateLimiterRes) {
    return { allowed: false, retryAfter: seconds(rejection.msBeforeNext), firstRefusal: rejection.consumedPoints === points + 1 };
  }
  throw rejection;
}

function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
