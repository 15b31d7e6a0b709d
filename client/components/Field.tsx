import { createUniqueId, Show, type Component, type JSX } from 'solid-js';

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
