import { revalidate } from '@solidjs/router';
import { onCleanup } from 'solid-js';

/** However many events ask in that time, a query is read again at most once a second. */
export const REVALIDATE_THROTTLE_MS = 1_000;

/**
 * Refreshes the query `key` a second after the first call, however many calls come meanwhile
 * (a burst of live events is one read, not one each). Call it in a component: the pending
 * refresh is dropped when the component goes.
 */
export function throttledRevalidate(key: string): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(timer));
  return () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      void revalidate(key);
    }, REVALIDATE_THROTTLE_MS);
  };
}
