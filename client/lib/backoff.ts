/**
 * How long to wait before reconnecting: exponential, capped, with jitter so clients do not
 * reconnect in step. The SPA's event stream and the detector CLI both use it, so it imports
 * nothing browser- or Node-only.
 */
export interface BackoffPolicy {
  /** Delay before the first retry, in milliseconds. */
  initialMs: number;
  factor: number;
  /** No delay is ever longer. */
  maxMs: number;
  /** Spread each delay by up to this fraction either way: 0.3 = ±30 %. */
  jitter: number;
}

export interface BackoffOptions extends Partial<BackoffPolicy> {
  /** Stands in for Math.random in tests: a number in [0, 1). */
  random?: () => number;
}

/** Fills in the SPA's WebSocket policy (1 s, ×2, 30 s cap, ±30 %) for what is not given. */
function withDefaults({ initialMs = 1_000, factor = 2, maxMs = 30_000, jitter = 0.3 }: Partial<BackoffPolicy>): BackoffPolicy {
  return { initialMs, factor, maxMs, jitter };
}

/** The un-jittered delay for an attempt, already capped. */
function baseDelay(attempt: number, { initialMs, factor, maxMs }: BackoffPolicy): number {
  return Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
}

/** The delay before retry number `attempt` (0 for the first). Never above the cap. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { random = Math.random } = options;
  const policy = withDefaults(options);
  const base = baseDelay(attempt, policy);
  const spread = base * policy.jitter * (2 * random() - 1);
  return Math.round(Math.min(policy.maxMs, Math.max(0, base + spread)));
}

/** The bounds backoffDelay keeps to for an attempt: what a test asserts. */
export function backoffBounds(attempt: number, options: Partial<BackoffPolicy> = {}): { min: number; max: number } {
  const policy = withDefaults(options);
  const base = baseDelay(attempt, policy);
  return { min: Math.floor(base * (1 - policy.jitter)), max: Math.ceil(Math.min(policy.maxMs, base * (1 + policy.jitter))) };
}
