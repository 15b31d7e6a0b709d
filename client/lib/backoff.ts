/** How long to wait before reconnecting: exponential, capped, with jitter so tabs do not reconnect in step. */
export interface BackoffOptions {
  /** Delay before the first retry, in milliseconds. */
  initialMs?: number;
  factor?: number;
  /** No delay is ever longer. */
  maxMs?: number;
  /** Spread each delay by up to this fraction either way. */
  jitter?: number;
  /** Stands in for Math.random in tests: a number in [0, 1). */
  random?: () => number;
}

/** The delay before retry number `attempt` (0 for the first). The WebSocket uses 1 s, ×2, 30 s cap, ±30 %. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { initialMs = 1_000, factor = 2, maxMs = 30_000, jitter = 0.3, random = Math.random } = options;
  const base = Math.min(maxMs, initialMs * factor ** Math.max(0, attempt));
  const spread = base * jitter * (2 * random() - 1);
  return Math.round(Math.min(maxMs, Math.max(0, base + spread)));
}
