import { Show, type Component } from 'solid-js';

/** The "Load more" button under a keyset-paginated list (see lib/cursorPages.ts). */
export const LoadMore: Component<{ list: { nextCursor: () => string | null; loadMore: () => void; loadingMore: () => boolean } }> = (props) => (
  <Show when={props.list.nextCursor()}>
    <button type="button" class="load-more" aria-busy={props.list.loadingMore()} aria-disabled={props.list.loadingMore()} onClick={() => props.list.loadMore()}>
      {props.list.loadingMore() ? 'Loading…' : 'Load more'}
    </button>
  </Show>
);
