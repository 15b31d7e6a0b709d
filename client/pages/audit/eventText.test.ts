import { describe, expect, it } from 'vitest';
import { countText } from './eventText.ts';

describe('countText', () => {
  it('counts in words, with the right plural', () => {
    expect(countText({ total: { count: 0, more: false }, loaded: 0, morePages: false, live: 0 })).toBe('0 events');
    expect(countText({ total: { count: 1, more: false }, loaded: 1, morePages: false, live: 0 })).toBe('1 event');
    expect(countText({ total: { count: 2431, more: false }, loaded: 50, morePages: true, live: 0 })).toBe('2,431 events');
  });

  it('adds live arrivals, and says where it stopped counting', () => {
    expect(countText({ total: { count: 1, more: false }, loaded: 1, morePages: false, live: 2 })).toBe('3 events');
    expect(countText({ total: { count: 10_000, more: true }, loaded: 50, morePages: true, live: 4 })).toBe('10,000+ events');
    expect(countText({ total: null, loaded: 50, morePages: true, live: 0 })).toBe('50+ events');
    expect(countText({ total: null, loaded: 7, morePages: false, live: 0 })).toBe('7 events');
  });
});
