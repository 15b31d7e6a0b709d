import { For, type Component, type JSX } from 'solid-js';
import { createFilterApplier } from '../lib/filterApplier.ts';
import type { FieldControl } from './Field.tsx';

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

/** A filter's select: the "any" choice (an empty value) first, then each value under its label. */
export const FilterSelect: Component<{
  control: FieldControl;
  name: string;
  /** The first choice, which filters nothing, e.g. "Any status". */
  any: string;
  values: readonly string[];
  labels: Readonly<Record<string, string>>;
  selected?: string;
  onChange: () => void;
}> = (props) => (
  <select {...props.control} name={props.name} onChange={() => props.onChange()}>
    <option value="">{props.any}</option>
    <For each={props.values}>{(value) => <option value={value} selected={value === props.selected}>{props.labels[value]}</option>}</For>
  </select>
);
