import { onMount, type Component } from 'solid-js';

export interface RowFormProps {
  /** The input's accessible name, e.g. "Reason to reactivate Office key". */
  label: string;
  submitLabel: string;
  minLength?: number;
  maxLength?: number;
  onSubmit: (value: string) => void;
  onCancel: () => void;
}

/** A one-field form a table row shows in place of its actions (a reason, a new owner). Escape cancels. */
export const RowForm: Component<RowFormProps> = (props) => {
  let input!: HTMLInputElement;
  onMount(() => input.focus());

  return (
    <form
      class="rename"
      onSubmit={(event) => {
        event.preventDefault();
        props.onSubmit(input.value.trim());
      }}
    >
      <input
        ref={input}
        aria-label={props.label}
        autocomplete="off"
        spellcheck={false}
        required
        minLength={props.minLength}
        maxLength={props.maxLength}
        onKeyDown={(event) => {
          if (event.key === 'Escape') props.onCancel();
        }}
      />
      <button type="submit" class="primary">
        {props.submitLabel}
      </button>
      <button type="button" onClick={() => props.onCancel()}>
        Cancel
      </button>
    </form>
  );
};
