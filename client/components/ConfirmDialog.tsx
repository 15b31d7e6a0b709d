import { createEffect, createSignal, createUniqueId, Show, type Component } from 'solid-js';

export interface ConfirmRequest {
  title: string;
  message: string;
  /** The verb on the button that goes ahead, e.g. "Disable". */
  confirmLabel: string;
}

/** A question waiting for its answer, for one <ConfirmDialog> on a page. */
export interface Confirmation {
  /** Asks; resolves to true when the person goes ahead. */
  confirm: (request: ConfirmRequest) => Promise<boolean>;
  /** What is being asked now, for the dialog's `request`. */
  request: () => ConfirmRequest | undefined;
  /** The dialog's `onClose`. */
  answer: (confirmed: boolean) => void;
}

export function createConfirmation(): Confirmation {
  const [pending, setPending] = createSignal<{ request: ConfirmRequest; answer: (confirmed: boolean) => void }>();
  return {
    confirm: (request) =>
      new Promise<boolean>((answer) => {
        // A question already open is answered no: only one can be on screen.
        pending()?.answer(false);
        setPending({ request, answer });
      }),
    request: () => pending()?.request,
    answer: (confirmed) => {
      pending()?.answer(confirmed);
      setPending(undefined);
    },
  };
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
