import type { Component, JSX } from 'solid-js';
import { createFilterApplier } from '../lib/filterApplier.ts';

/** How a bar's controls hand the filters on: `now` (Enter, a changed select) or `soon` (typing). */
export type FilterApply = ReturnType<typeof createFilterApplier>;

/**
 * A search form whose filters apply as they change: at once on Enter or a changed select,
 * after a pause of `delayMs` while typing.
 */
export const FilterBar: Component<{
  /** The form's accessible name, e.g. "Filter users". */
  label: string;
  delayMs: number;
  onApply: (fields: FormData) => void;
  children: (apply: FilterApply) => JSX.Element;
}> = (props) => {
  let form!: HTMLFormElement;
  const apply = createFilterApplier(() => props.onApply(new FormData(form)), props.delayMs);
  const controls = props.children(apply);

  return (
    <form
      ref={form}
      role="search"
      aria-label={props.label}
      class="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        apply.now();
      }}
    >
      {controls}
    </form>
  );
};
