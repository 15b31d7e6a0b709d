import { Show, type Component } from 'solid-js';
import type { ModelView } from '../../../shared/api.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useModelAccess } from '../../modelAccess.tsx';

/**
 * The one "Unlock restricted models" button on the screen. The prompt opens from the click,
 * never on its own: some browsers allow it only right after a user gesture.
 */
export const UnlockAction: Component<{ wanted: ModelView | undefined }> = (props) => {
  const access = useModelAccess();
  return (
    <div class="unlock" classList={{ wanted: props.wanted !== undefined || access.keyBack() }}>
      <Show
        when={access.keyBack()}
        fallback={
          <Show when={props.wanted}>
            {(model) => <p class="unlock-hint">Touch your key to unlock “{model().displayName}”.</p>}
          </Show>
        }
      >
        <p class="unlock-hint">Your key is back — unlock?</p>
      </Show>
      <UnlockButton label="Unlock restricted models" />
    </div>
  );
};

/**
 * A button that asks for the key touch which unlocks (or renews) restricted models, the
 * prompt to touch the key while it waits, and why it failed.
 */
export const UnlockButton: Component<{ label: string }> = (props) => {
  const access = useModelAccess();
  return (
    <>
      <button
        type="button"
        class="primary"
        aria-disabled={access.unlocking()}
        onClick={() => void access.unlock()}
      >
        {props.label}
      </button>
      <p class="key-prompt" role="status">
        {access.unlocking() ? 'Touch your security key now…' : ''}
      </p>
      <ErrorAlert error={access.unlockError()} />
    </>
  );
};
