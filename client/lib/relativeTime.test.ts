import { describe, expect, it } from 'vitest';
import { relativeTime } from './relativeTime.ts';

const now = Date.parse('2026-12-06T12:00:00.000Z');
const before = (ms: number) => new Date(now - ms).toISOString();

describe('relativeTime', () => {
  it('says recent instants relative to now, older ones as a date', () => {
    expect(relativeTime(before(10_000), now)).toBe('just now');
    expect(relativeTime(before(5 * 60_000), now)).toMatch(/^5 min/);
    expect(relativeTime(before(3 * 3_600_000), now)).toMatch(/^3 h/);
    expect(relativeTime(before(30 * 3_600_000), now)).toBe('yesterday');
    expect(relativeTime(before(4 * 86_400_000), now)).toBe('4 days ago');
    expect(relativeTime('2026-11-12T12:00:00.000Z', now)).toMatch(/Nov 12$/);
    expect(relativeTime('2025-11-12T12:00:00.000Z', now)).toMatch(/2025/);
  });
});
