import { describe, expect, it } from 'vitest';
import type { AuditEventView } from '../../shared/audit.ts';
import { addToFeed, detectStorm, FEED_LIMIT, isHighlighted, STORM } from './securityFeed.ts';

const NOW = Date.parse('2026-11-30T12:00:00Z');

function event(seq: number, action: string, severity: AuditEventView['severity'] = 'medium', secondsAgo = 0): AuditEventView {
  return {
    seq,
    time: new Date(NOW - secondsAgo * 1000).toISOString(),
    actorId: null,
    actorUsername: null,
    action,
    targetType: null,
    targetId: null,
    outcome: 'failure',
    severity,
    ip: null,
    userAgent: null,
    model: null,
    details: {},
    prevHash: '0'.repeat(64),
    hash: String(seq).padStart(64, '0'),
  };
}

describe('the live security feed', () => {
  it('highlights high and critical events only', () => {
    expect(isHighlighted(event(1, 'auth.key_mismatch', 'high'))).toBe(true);
    expect(isHighlighted(event(2, 'key.suspended', 'critical'))).toBe(true);
    expect(isHighlighted(event(3, 'auth.signin_failed', 'medium'))).toBe(false);
    expect(isHighlighted(event(4, 'auth.signin', 'info'))).toBe(false);
  });

  it('keeps events newest first, once each, and at most FEED_LIMIT', () => {
    let feed: AuditEventView[] = [];
    feed = addToFeed(feed, event(2, 'a'));
    feed = addToFeed(feed, event(1, 'b'));
    feed = addToFeed(feed, event(3, 'c'));
    feed = addToFeed(feed, event(3, 'c'));
    expect(feed.map((e) => e.seq)).toEqual([3, 2, 1]);
    for (let seq = 4; seq < FEED_LIMIT + 20; seq += 1) feed = addToFeed(feed, event(seq, 'x'));
    expect(feed).toHaveLength(FEED_LIMIT);
    expect(feed[0]!.seq).toBe(FEED_LIMIT + 19);
  });

  it(`calls ${STORM.threshold} failures within a minute a storm, and not fewer or older ones`, () => {
    const failures = Array.from({ length: STORM.threshold - 1 }, (_, i) => event(i + 1, 'auth.signin_failed', 'medium', 10));
    expect(detectStorm(failures, NOW)).toBeNull();
    expect(detectStorm([...failures, event(100, 'auth.signin_failed', 'medium', 120)], NOW)).toBeNull();
    expect(detectStorm([...failures, event(101, 'auth.signin', 'info', 1)], NOW)).toBeNull();
    expect(detectStorm([...failures, event(102, 'grant.denied', 'medium', 1)], NOW)).toEqual({ count: STORM.threshold });
  });
});
