import { createAsyncStore } from '@solidjs/router';
import { createSignal, useTransition } from 'solid-js';

/** A page of a keyset-paginated list. */
export interface CursorPage {
  nextCursor: string | null;
}

/**
 * The pages of a keyset-paginated list loaded so far. `fetchPage` should be a router query:
 * revalidating it then refreshes every loaded page together. Rows are reconciled on `key`,
 * so a refresh keeps each row's DOM (its focus, its open details).
 */
export function createCursorPages<P extends CursorPage>(
  fetchPage: (after: string | null) => Promise<P>,
  key: string,
) {
  const [cursors, setCursors] = createSignal<Array<string | null>>([null]);
  const pages = createAsyncStore(() => Promise.all(cursors().map((after) => fetchPage(after))), {
    reconcile: { key },
  });
  // A transition keeps the rows on screen while the next page loads.
  const [loadingMore, startLoading] = useTransition();

  const nextCursor = () => pages()?.at(-1)?.nextCursor ?? null;
  const loadMore = () => {
    const after = nextCursor();
    if (after) startLoading(() => setCursors((loaded) => [...loaded, after]));
  };

  return { pages, nextCursor, loadMore, loadingMore };
}
