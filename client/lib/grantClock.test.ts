import { describe, expect, it } from 'vitest';
import type { GrantView } from '../../shared/api.ts';
import { createGrantClock, EXPIRY_WARNING_MS, hasRunOut, isExpiring, msLeft } from './grantClock.ts';

const T0 = Date.parse('2030-01-01T12:00:00.000Z');

function grant(id: string, issuedAt: number, minutes = 5): GrantView {
  return {
    id,
    models: ['demo-restricted'],
    keyId: 'k1',
    keyNickname: 'Test key',
    presenceMode: 'assertion',
    issuedAt: new Date(issuedAt).toISOString(),
    expiresAt: new Date(issuedAt + minutes * 60_000).toISOString(),
  };
}

describe('createGrantClock', () => {
  it('puts the deadline on our clock when the server’s runs ahead', () => {
    const clock = createGrantClock();
    // The server says it issued the grant at T0 + 60 s; we received it at T0.
    const live = clock.adopt({ current: null, view: grant('g1', T0 + 60_000), fresh: true, receivedAt: T0 });
    expect(live?.deadline).toBe(T0 + 5 * 60_000);
    // A later answer about another grant uses what was learned, even when not fresh.
    const later = clock.adopt({ current: null, view: grant('g2', T0 + 120_000), fresh: false, receivedAt: T0 + 60_000 });
    expect(later?.deadline).toBe(T0 + 60_000 + 5 * 60_000);
  });

  it('without knowing the server’s clock, never ends later than the grant’s length from now', () => {
    const clock = createGrantClock();
    // Issued "in the future" by a fast server clock: the grant still lasts at most five minutes here.
    const live = clock.adopt({ current: null, view: grant('g1', T0 + 3_600_000), fresh: false, receivedAt: T0 });
    expect(live?.deadline).toBe(T0 + 5 * 60_000);
  });

  it('never shows a grant this tab ended, however late the answer', () => {
    const clock = createGrantClock();
    const view = grant('g1', T0);
    expect(clock.adopt({ current: null, view, fresh: true, receivedAt: T0 })).not.toBeNull();
    clock.ended('g1');
    expect(clock.adopt({ current: null, view, fresh: false, receivedAt: T0 + 1_000 })).toBeNull();
    // A fresh unlock that issues it again is news.
    expect(clock.adopt({ current: null, view, fresh: true, receivedAt: T0 + 1_000 })).not.toBeNull();
  });

  it('the same grant told of twice never ends later, and keeps the key WebHID saw', () => {
    const clock = createGrantClock();
    const first = clock.adopt({ current: null, view: grant('g1', T0), fresh: true, receivedAt: T0, device: 'key A' });
    const pushedBack = { ...grant('g1', T0), expiresAt: new Date(T0 + 10 * 60_000).toISOString() };
    const again = clock.adopt({ current: first, view: pushedBack, fresh: false, receivedAt: T0 + 1_000 });
    expect(again?.deadline).toBe(first!.deadline);
    expect(again?.device).toBe('key A');
    const closer = { ...grant('g1', T0), expiresAt: new Date(T0 + 60_000).toISOString() };
    expect(clock.adopt({ current: again, view: closer, fresh: false, receivedAt: T0 + 2_000 })?.deadline).toBe(T0 + 60_000);
  });

  it('refuses a grant whose end is already past', () => {
    const clock = createGrantClock();
    expect(clock.adopt({ current: null, view: grant('g1', T0, 1), fresh: false, receivedAt: T0 + 61_000 })).toBeNull();
  });

  it('forgets ended grants and the server’s clock on reset', () => {
    const clock = createGrantClock();
    clock.adopt({ current: null, view: grant('g1', T0 + 60_000), fresh: true, receivedAt: T0 });
    clock.ended('g1');
    clock.reset();
    const again = clock.adopt({ current: null, view: grant('g1', T0 + 60_000), fresh: false, receivedAt: T0 });
    // No skew known any more: bounded by the grant's length from now.
    expect(again?.deadline).toBe(T0 + 5 * 60_000);
  });
});

describe('the countdown', () => {
  const live = { view: { id: 'g1' }, deadline: T0 + 60_000 };

  it('counts down to zero, never below, and runs out at the deadline', () => {
    expect(msLeft(live, T0)).toBe(60_000);
    expect(msLeft(live, T0 + 70_000)).toBe(0);
    expect(msLeft(null, T0)).toBe(0);
    expect(hasRunOut(live, T0 + 59_999)).toBe(false);
    expect(hasRunOut(live, T0 + 60_000)).toBe(true);
    expect(hasRunOut(null, T0)).toBe(false);
  });

  it('warns near the end, or when the server said so for this grant', () => {
    expect(isExpiring(live, T0, undefined)).toBe(false);
    expect(isExpiring(live, T0 + 60_000 - EXPIRY_WARNING_MS, undefined)).toBe(true);
    expect(isExpiring(live, T0, 'g1')).toBe(true);
    expect(isExpiring(live, T0, 'another grant')).toBe(false);
    expect(isExpiring(null, T0, 'g1')).toBe(false);
  });
});
