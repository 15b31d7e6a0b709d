import type { Component, JSX } from 'solid-js';

/**
 * A table row's action button. It is described by the row's header cell (`describedBy`), so
 * it says which row it acts on: "Delete", of "Office key".
 */
export const RowButton: Component<{ describedBy: string; danger?: boolean; onClick: () => void; children: JSX.Element }> = (props) => (
  <button type="button" aria-describedby={props.describedBy} class={props.danger ? 'danger' : undefined} onClick={() => props.onClick()}>
    {props.children}
  </button>
);
