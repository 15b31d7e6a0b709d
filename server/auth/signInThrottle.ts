import { createHmac, hkdfSync } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/** HKDF label of the key that names a username's throttle in Redis. */
export const THROTTLE_KEY_LABEL = 'argus signin throttle v1';

/** `firstRefusal`: this attempt is the one that tripped the limit (later ones in the window are not). */
export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfter: number; firstRefusal?: boolean };

/**
 * Whose failure budget a password attempt spends: the username's one shared by every device
 * the user never signed in on, or the budget of one device that holds a valid device cookie
 * for that username (its nonce; server/auth/deviceCookie.ts).
 */
export type DeviceBucket = { device: 'unknown' } | { device: 'known'; nonce: string };

export const UNKNOWN_DEVICES: DeviceBucket = { device: 'unknown' };

/**
 * `lastInBudget`: this attempt took the budget's last point, so if its password is wrong the
 * bucket is locked for the rest of the window.
 */
export type AttemptVerdict = { allowed: true; lastInBudget: boolean } | { allowed: false; retryAfter: number };

/**
 * Sign-in throttles, checked before any password is hashed:
 * - per IP: N attempts a minute, counted on every attempt;
 * - per username and device (OWASP device cookies): N failures in a window. Failures from
 *   devices where the user never signed in share one budget per username; a device with a
 *   valid device cookie for the username has a budget of its own. Exhausting the shared one
 *   locks unknown devices only; a device's own failures lock only that device. Guessing is
 *   as slow as with one budget per username (a device budget needs a full sign-in, key
 *   included, to get), and nobody else's failures can lock the owner's browser out.
 * An attempt takes its point *before* the password is hashed and gives it back when the
 * password was right: parallel guesses cannot all pass a check made before any of them
 * failed, so a budget of N means N wrong passwords, never more.
 * Keys are the limiter's prefix plus the IP, or a keyed hash of the lower-cased username
 * (and the device nonce): what someone typed into the username box (often a password) never
 * sits in Redis as text. The hash key comes from the session secret, so rotating it starts
 * every username's count afresh.
 * If Redis cannot answer, the error propagates and the request fails closed.
 */
export class SignInThrottle {
  private readonly perIp: RateLimiterRedis;
  private readonly unknownDevices: RateLimiterRedis;
  private readonly perDevice: RateLimiterRedis;
  private readonly usernameKey: Buffer;

  constructor(
    redis: Redis,
    limits: { signinPerMinutePerIp: number; signinFailuresPerUsername: number; signinFailureWindowMinutes: number },
    secret: string,
  ) {
    this.usernameKey = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), THROTTLE_KEY_LABEL, 32));
    this.perIp = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'rl:signin-ip', points: limits.signinPerMinutePerIp, duration: 60 });
    const failures = { storeClient: redis, points: limits.signinFailuresPerUsername, duration: limits.signinFailureWindowMinutes * 60 };
    // The shared bucket keeps the key it had as the username-wide lock.
    this.unknownDevices = new RateLimiterRedis({ ...failures, keyPrefix: 'rl:signin-user' });
    this.perDevice = new RateLimiterRedis({ ...failures, keyPrefix: 'rl:signin-device' });
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

  /** Takes one point of the bucket's failure budget for an attempt about to be checked; refused once it is spent. */
  async takeAttempt(username: string, bucket: DeviceBucket): Promise<AttemptVerdict> {
    const [limiter, key] = this.bucketOf(username, bucket);
    try {
      const state = await limiter.consume(key);
      return { allowed: true, lastInBudget: state.consumedPoints === limiter.points };
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return { allowed: false, retryAfter: seconds(rejection.msBeforeNext) };
      throw rejection;
    }
  }

  /** Gives back the point of an attempt that was no failure: the password was right, or it was never checked. */
  async giveBack(username: string, bucket: DeviceBucket): Promise<void> {
    const [limiter, key] = this.bucketOf(username, bucket);
    await limiter.reward(key, 1);
  }

  /** Forgets a device's failures once it has signed in fully (it then gets a new nonce). */
  async forgetDevice(username: string, nonce: string): Promise<void> {
    const [limiter, key] = this.bucketOf(username, { device: 'known', nonce });
    await limiter.delete(key);
  }

  /** The Redis key part for a username: HMAC-SHA-256 of its lower-cased form, hex. */
  keyOf(username: string): string {
    return createHmac('sha256', this.usernameKey).update(username.toLowerCase(), 'utf8').digest('hex');
  }

  private bucketOf(username: string, bucket: DeviceBucket): [RateLimiterRedis, string] {
    return bucket.device === 'unknown' ? [this.unknownDevices, this.keyOf(username)] : [this.perDevice, `${this.keyOf(username)}:${bucket.nonce}`];
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
