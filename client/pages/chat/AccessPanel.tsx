import { createUniqueId, Show, type Component } from 'solid-js';
import type { ModelView } from '../../../shared/api.ts';
import { formatCountdown, secondsText } from '../../lib/countdown.ts';
import { useModelAccess } from '../../modelAccess.tsx';
import { UnlockAction, UnlockButton } from './UnlockAction.tsx';

/**
 * Whether restricted models are unlocked, for how long, and the one touch that unlocks or
 * renews them. `wanted`: the locked model the person picked.
 */
export const AccessPanel: Component<{ wanted: ModelView | undefined }> = (props) => {
  const access = useModelAccess();
  const headingId = createUniqueId();
  const secondsLeft = () => Math.ceil(access.msLeft() / 1000);

  return (
    <section class="panel access" classList={{ open: access.grant() !== null }} aria-labelledby={headingId}>
      <h2 id={headingId}>Restricted models</h2>
      <Show
        when={access.grant()}
        fallback={
          <>
            <p class="grant-state locked">Locked</p>
            <p class="muted">Restricted models open for a few minutes after a touch of your own security key.</p>
            <UnlockAction wanted={props.wanted} />
          </>
        }
      >
        {(grant) => (
          <>
            <p class="grant-state unlocked" data-testid="grant-countdown">
              Unlocked — {formatCountdown(access.msLeft() / 1000)} left
            </p>
            <p class="muted">Unlocked with “{grant().view.keyNickname}”.</p>
            <Show when={access.expiring()}>
              <div class="grant-warning">
                <p>Access ends in {secondsText(secondsLeft())}</p>
                <UnlockButton label="Renew" />
              </div>
            </Show>
            <button type="button" class="lock-now" onClick={() => void access.lock()}>
              Lock now
            </button>
          </>
        )}
      </Show>
      {/* Said once when the warning appears; the countdown itself is not read out every second. */}
      <p class="visually-hidden" role="status">
        {access.expiring() ? 'Access to restricted models ends soon. Renew to keep it.' : ''}
      </p>
    </section>
  );
};
