import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Deps } from '../deps.ts';
import { rateLimited } from './errors.ts';

/**
 * A per-caller request budget for a route whose work is costly: an upstream call, a whole
 * audit-chain walk, or an audit record written on every call. The caller is the signed-in
 * user, else the client's IP. Counted after the input is valid, so a rejected request costs
 * nothing but is not counted either.
 */
export interface RouteLimit {
  /** Names the budget in Redis (`rl:route-<name>`) and in messages. */
  name: string;
  /** Requests each caller may make per window (times ROUTE_RATE_LIMIT_FACTOR). */
  points: number;
  windowSeconds: number;
}

const limiters = new WeakMap<Deps, Map<string, RateLimiterRedis>>();

function limiterFor(deps: Deps, limit: RouteLimit): RateLimiterRedis {
  let byName = limiters.get(deps);
  if (!byName) limiters.set(deps, (byName = new Map()));
  let limiter = byName.get(limit.name);
  if (!limiter) {
    limiter = new RateLimiterRedis({
      storeClient: deps.redis,
      keyPrefix: `rl:route-${limit.name}`,
      points: limit.points * deps.config.rateLimits.routeLimitFactor,
      duration: limit.windowSeconds,
    });
    byName.set(limit.name, limiter);
  }
  return limiter;
}

/** Spends one request of `caller`'s budget; 429 RATE_LIMITED when it is spent. Redis failing fails closed (503). */
export async function consumeRouteLimit(deps: Deps, limit: RouteLimit, caller: string): Promise<void> {
  try {
    await limiterFor(deps, limit).consume(caller);
  } catch (rejection) {
    // A RateLimiterRes is the verdict; an Error is Redis failing, which propagates.
    if (rejection instanceof RateLimiterRes) {
      throw rateLimited(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)), 'Too many requests of this kind. Try again later.');
    }
    throw rejection;
  }
}
