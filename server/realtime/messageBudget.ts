/**
 * A token bucket for one WebSocket's incoming messages: `perSecond` on average, bursts up to
 * `perSecond`. Both socket protocols (browser and detector) close a connection that overdraws it.
 */
export class MessageBudget {
  private tokens: number;
  private refilledAt = Date.now();

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  /** Spends one message; false when the bucket is empty. */
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
