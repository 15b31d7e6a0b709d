import { createEffect, type Component } from 'solid-js';

/**
 * The page's h1. It takes focus after each navigation (see Layout) so screen readers
 * announce the new page, and it names the browser tab.
 */
export const PageTitle: Component<{ children: string }> = (props) => {
  createEffect(() => {
    document.title = `${props.children} · Argus`;
  });
  return <h1 tabIndex={-1}>{props.children}</h1>;
};
