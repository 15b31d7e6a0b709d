import { createUniqueId, For, Show, type Component, type JSX } from 'solid-js';

/** What a field's control needs to be tied to its label and hint. */
export interface FieldControl {
  id: string;
  'aria-describedby'?: string;
}

/**
 * A labelled form control. The label points at the control with `for` rather than wrapping
 * it, so the control's accessible name is exactly the label (a wrapped select would add its
 * current option to it).
 */
export const Field: Component<{
  label: string;
  hint?: JSX.Element;
  class?: string;
  children: (control: FieldControl) => JSX.Element;
}> = (props) => {
  const id = createUniqueId();
  const hintId = createUniqueId();
  const control = props.children({ id, 'aria-describedby': props.hint ? hintId : undefined });

  return (
    <div class={props.class ? `field ${props.class}` : 'field'}>
      <label for={id}>{props.label}</label>
      {control}
      <Show when={props.hint}>
        <small id={hintId} class="muted">
          {props.hint}
        </small>
      </Show>
    </div>
  );
};

/**
 * A field's select of fixed values, each under its label (the value itself without one).
 * `any`, when given, is a first choice with an empty value that filters nothing, e.g. "Any status".
 */
export const Select: Component<{
  control: FieldControl;
  name: string;
  any?: string;
  values: readonly string[];
  labels?: Readonly<Record<string, string>>;
  selected?: string;
  onChange?: () => void;
}> = (props) => (
  <select {...props.control} name={props.name} onChange={() => props.onChange?.()}>
    <Show when={props.any !== undefined}>
      <option value="">{props.any}</option>
    </Show>
    <For each={props.values}>{(value) => <option value={value} selected={value === props.selected}>{props.labels?.[value] ?? value}</option>}</For>
  </select>
);
