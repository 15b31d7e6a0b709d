import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.ts';

const middle = () => 0.5;
const lowest = () => 0;
const highest = () => 0.999_999;

describe('backoffDelay', () => {
  it('starts at one second and doubles', () => {
    expect([0, 1, 2, 3, 4].map((attempt) => backoffDelay(attempt, { random: middle }))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000,
    ]);
  });

  it('never waits longer than 30 seconds', () => {
    expect(backoffDelay(5, { random: middle })).toBe(30_000);
    expect(backoffDelay(50, { random: highest })).toBe(30_000);
  });

  it('spreads each delay by 30 % either way', () => {
    expect(backoffDelay(0, { random: lowest })).toBe(700);
    expect(backoffDelay(0, { random: highest })).toBe(1_300);
    expect(backoffDelay(20, { random: lowest })).toBe(21_000);
  });
});
