import { onMount, type Component } from 'solid-js';

export interface RenameKeyFormProps {
  nickname: string;
  onSave: (nickname: string) => void;
  onCancel: () => void;
}

/** The inline editor a key row shows in place of its actions. Escape cancels. */
export const RenameKeyForm: Component<RenameKeyFormProps> = (props) => {
  let input!: HTMLInputElement;
  onMount(() => input.select());

  return (
    <form
      class="rename"
      onSubmit={(event) => {
        event.preventDefault();
        props.onSave(input.value.trim());
      }}
    >
      <input
        ref={input}
        name="nickname"
        aria-label={`New nickname for ${props.nickname}`}
        value={props.nickname}
        autocomplete="off"
        required
        onKeyDown={(event) => {
          if (event.key === 'Escape') props.onCancel();
        }}
      />
      <button type="submit" class="primary">
        Save
      </button>
      <button type="button" onClick={() => props.onCancel()}>
        Cancel
      </button>
    </form>
  );
};
