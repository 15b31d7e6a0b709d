import { onMount, type Component } from 'solid-js';

export interface InlineFormProps {
  /** The input's accessible name, e.g. "New nickname for Office key". */
  label: string;
  name?: string;
  /** The text being edited: shown selected, ready to be typed over. Without it the input starts empty. */
  value?: string;
  spellcheck?: boolean;
  minLength?: number;
  maxLength?: number;
  /** The submit button's text, e.g. "Save". */
  submitLabel: string;
  /** The text, trimmed. */
  onSubmit: (value: string) => void;
  onCancel: () => void;
}

/** A one-field form a row shows in place of its actions (a new name, a reason). Escape cancels. */
export const InlineForm: Component<InlineFormProps> = (props) => {
  let input!: HTMLInputElement;
  onMount(() => (props.value === undefined ? input.focus() : input.select()));

  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    props.onSubmit(input.value.trim());
  };
  const cancelOnEscape = (event: KeyboardEvent) => event.key === 'Escape' && props.onCancel();

  return (
    <form class="rename" onSubmit={submit}>
      <input
        ref={input}
        name={props.name}
        aria-label={props.label}
        value={props.value ?? ''}
        autocomplete="off"
        spellcheck={props.spellcheck}
        required
        minLength={props.minLength}
        maxLength={props.maxLength}
        onKeyDown={cancelOnEscape}
      />
      <button type="submit" class="primary">{props.submitLabel}</button>
      <button type="button" onClick={() => props.onCancel()}>Cancel</button>
    </form>
  );
};
