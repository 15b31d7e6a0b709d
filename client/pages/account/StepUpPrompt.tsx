import { Dialog } from '@kobalte/core/dialog';
import { createRenderEffect, on, Show, type Component } from 'solid-js';
import { pendingStepUp, STEP_UP_WAIT_MS, type StepUpReason } from '../../api/stepUp.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { isStoppedByUser } from '../../lib/securityKey.ts';

/** The words e2e/stepUp.ts watches for: the dialog is up and waiting for the touch. */
export const STEP_UP_TOUCH_TEXT = 'Touch a key you already registered to confirm.';

const WAIT_MINUTES = Math.round(STEP_UP_WAIT_MS / 60_000);

const WHY: Record<StepUpReason, string> = {
  stale: 'Your last confirmation was too long ago for this change.',
  ending: 'Your last confirmation runs out before this change would finish.',
};

/**
 * The one step-up dialog of the app (mounted by the layout): up while a change waits for the
 * touch that confirms it. Cancel, Escape or a click outside stops the wait; the form that
 * asked stays as it was. After STEP_UP_WAIT_MS the page stops waiting by itself.
 */
export const StepUpDialog: Component = () => {
  /** What had the focus when the dialog opened (the button that asked): it gets it back. */
  let returnFocusTo: HTMLElement | undefined;
  // A render effect runs before the dialog moves the focus into itself.
  createRenderEffect(
    on(
      () => pendingStepUp() !== undefined,
      (open) => {
        if (open && document.activeElement instanceof HTMLElement) returnFocusTo = document.activeElement;
      },
    ),
  );

  return (
    <Dialog open={pendingStepUp() !== undefined} onOpenChange={(open) => open || pendingStepUp()?.cancel()} modal>
      <Dialog.Portal>
        <Dialog.Overlay class="step-up-overlay" />
        <div class="step-up-positioner">
          <Dialog.Content
            class="dialog step-up-dialog"
            onCloseAutoFocus={(event) => {
              if (!returnFocusTo?.isConnected) return;
              event.preventDefault();
              returnFocusTo.focus();
            }}
          >
            <Dialog.Title>Confirm with your key</Dialog.Title>
            <Show when={pendingStepUp()}>
              {(stepUp) => (
                <>
                  <Dialog.Description>
                    {WHY[stepUp().reason]} Argus asks again before sensitive changes.
                  </Dialog.Description>
                  <p class="key-prompt" role="status">
                    {STEP_UP_TOUCH_TEXT}
                  </p>
                  <p class="muted">
                    Argus waits {WAIT_MINUTES === 1 ? 'one minute' : `${WAIT_MINUTES} minutes`} for the touch; nothing is
                    changed until then.
                  </p>
                </>
              )}
            </Show>
            <div class="actions">
              <button type="button" onClick={() => pendingStepUp()?.cancel()}>
                Cancel
              </button>
            </div>
          </Dialog.Content>
        </div>
      </Dialog.Portal>
    </Dialog>
  );
};

/**
 * The table row under a row whose change failed: the error, unless the person cancelled the
 * step-up themselves (then the row is left as it was). Renders nothing otherwise.
 */
export const StepUpRowAlert: Component<{ columns: number; busy: boolean; error: unknown }> = (props) => {
  const error = () => (isStoppedByUser(props.error) ? undefined : props.error);
  return (
    <Show when={!props.busy && error()}>
      <tr class="row-alert">
        <td colspan={props.columns}>
          <ErrorAlert error={error()} />
        </td>
      </tr>
    </Show>
  );
};
