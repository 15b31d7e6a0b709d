import { revalidate } from '@solidjs/router';
import { createRoot } from 'solid-js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { REVALIDATE_THROTTLE_MS, throttledRevalidate } from './throttledRevalidate.ts';

// The router's revalidate needs a browser; what matters here is when, and how often, it is asked.
vi.mock('@solidjs/router', () => ({ revalidate: vi.fn(async () => undefined) }));

beforeEach(() => {
  vi.useFakeTimers();
  vi.mocked(revalidate).mockClear();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('throttledRevalidate', () => {
  it('reads the query once for a burst of calls, a second after the first', () => {
    const dispose = createRoot((dispose) => {
      const refresh = throttledRevalidate('listPendingChanges');
      refresh();
      refresh();
      vi.advanceTimersByTime(REVALIDATE_THROTTLE_MS - 1);
      refresh();
      expect(revalidate).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(revalidate).toHaveBeenCalledTimes(1);
      expect(revalidate).toHaveBeenCalledWith('listPendingChanges');
      return dispose;
    });
    dispose();
  });

  it('reads it again for a call after the last read', () => {
    createRoot((dispose) => {
      const refresh = throttledRevalidate('listAdminGrants');
      refresh();
      vi.advanceTimersByTime(REVALIDATE_THROTTLE_MS);
      refresh();
      vi.advanceTimersByTime(REVALIDATE_THROTTLE_MS);
      expect(revalidate).toHaveBeenCalledTimes(2);
      dispose();
    });
  });

  it('drops a pending read when its component goes', () => {
    createRoot((dispose) => {
      throttledRevalidate('listAdminSessions')();
      dispose();
    });
    vi.advanceTimersByTime(REVALIDATE_THROTTLE_MS * 2);
    expect(revalidate).not.toHaveBeenCalled();
  });
});
