import type { AuditEventView, Severity } from '../../shared/audit.ts';

/** How many events the live feed keeps on screen. */
export const FEED_LIMIT = 100;

/** Severities the feed makes stand out (key mismatch, clone detection, admin changes…). */
const HIGHLIGHTED: ReadonlySet<Severity> = new Set(['high', 'critical']);

export function isHighlighted(event: Pick<AuditEventView, 'severity'>): boolean {
  return HIGHLIGHTED.has(event.severity);
}

/** Adds an event to a newest-first feed: once only (by seq), at most FEED_LIMIT kept. */
export function addToFeed(feed: readonly AuditEventView[], event: AuditEventView): AuditEventView[] {
  if (feed.some((shown) => shown.seq === event.seq)) return [...feed];
  return [event, ...feed].sort((a, b) => b.seq - a.seq).slice(0, FEED_LIMIT);
}

/**
 * Failures that, many at once, mean someone is hammering the front door: wrong passwords
 * (throttles trip soon after), failed key assertions, refused unlocks, foreign keys.
 */
const STORM_ACTIONS: ReadonlySet<string> = new Set(['auth.signin_failed', 'webauthn.assertion_failed', 'grant.denied', 'auth.key_mismatch']);

/** A storm: this many such failures within the window. */
export const STORM = { windowMs: 60_000, threshold: 10 } as const;

/** The failures in the last minute, when there are enough of them to call it a storm. */
export function detectStorm(feed: readonly AuditEventView[], now: number): { count: number } | null {
  const count = feed.filter((event) => STORM_ACTIONS.has(event.action) && now - Date.parse(event.time) <= STORM.windowMs).length;
  return count >= STORM.threshold ? { count } : null;
}
