import { createEffect, createUniqueId, Show, type Component } from 'solid-js';

export interface ConfirmRequest {
  title: string;
  message: string;
  /** The verb on the button that goes ahead, e.g. "Disable". */
  confirmLabel: string;
}

/** A modal question; open while `request` is set. Escape and Cancel answer no. */
export const ConfirmDialog: Component<{
  request: ConfirmRequest | undefined;
  onClose: (confirmed: boolean) => void;
}> = (props) => {
  let dialog!: HTMLDialogElement;
  const titleId = createUniqueId();

  createEffect(() => {
    if (props.request && !dialog.open) dialog.showModal();
    if (!props.request && dialog.open) dialog.close();
  });

  return (
    <dialog
      ref={dialog}
      class="dialog"
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        props.onClose(false);
      }}
    >
      <Show when={props.request}>
        {(request) => (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              props.onClose(true);
            }}
          >
            <h2 id={titleId}>{request().title}</h2>
            <p>{request().message}</p>
            <div class="actions">
              <button type="button" onClick={() => props.onClose(false)}>
                Cancel
              </button>
              <button type="submit" class="danger">
                {request().confirmLabel}
              </button>
            </div>
          </form>
        )}
      </Show>
    </dialog>
  );
};
