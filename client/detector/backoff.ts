/** Reconnect timings (DESIGN.md: 5 s start, ×2, 60 s cap, ±30 % jitter). Injectable for tests. */
export interface BackoffPolicy {
  initialMs: number;
  factor: number;
  maxMs: number;
  /** 0.3 = ±30 %. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 5_000, factor: 2, maxMs: 60_000, jitter: 0.3 };

/** The delay before reconnect attempt `attempt` (0 = the first retry). Never above the cap. */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt));
  const jittered = base * (1 + policy.jitter * (2 * random() - 1));
  return Math.round(Math.min(policy.maxMs, Math.max(0, jittered)));
}

/** The bounds backoffDelay keeps to for an attempt: what a test asserts. */
export function backoffBounds(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): { min: number; max: number } {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** Math.max(0, attempt));
  return { min: Math.floor(base * (1 - policy.jitter)), max: Math.ceil(Math.min(policy.maxMs, base * (1 + policy.jitter))) };
}
