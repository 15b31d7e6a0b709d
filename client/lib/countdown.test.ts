import { describe, expect, it } from 'vitest';
import { formatCountdown, secondsText } from './countdown.ts';

describe('formatCountdown', () => {
  it('reads like a clock', () => {
    expect(formatCountdown(299)).toBe('4:59');
    expect(formatCountdown(300)).toBe('5:00');
    expect(formatCountdown(5.9)).toBe('0:05');
    expect(formatCountdown(3600)).toBe('60:00');
  });

  it('never goes below zero', () => {
    expect(formatCountdown(-3)).toBe('0:00');
  });
});

describe('secondsText', () => {
  it('says one second, not one seconds', () => {
    expect(secondsText(1)).toBe('1 second');
    expect(secondsText(30)).toBe('30 seconds');
  });
});
