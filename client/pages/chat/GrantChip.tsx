import { Popover } from '@kobalte/core/popover';
import { createSignal, Match, Switch, type Component } from 'solid-js';
import { formatCountdown } from '../../lib/countdown.ts';
import { useModelAccess } from '../../modelAccess.tsx';

/**
 * Restricted access in the chat header: "Unlock" while locked, the countdown while unlocked.
 * The countdown opens what can be done with the grant: renew it with a touch, or lock now.
 */
export const GrantChip: Component = () => {
  const access = useModelAccess();
  const left = () => formatCountdown(access.msLeft() / 1000);
  const [open, setOpen] = createSignal(false);
  // The details stay open through a renewal: they show the new countdown, and Lock now stays at hand.
  const renew = () => void access.unlock();
  function lockNow() {
    setOpen(false);
    void access.lock();
  }
  return (
    <Switch>
      <Match when={access.grant()}>
        {(grant) => (
          <Popover placement="bottom-end" gutter={6} open={open()} onOpenChange={setOpen}>
            <Popover.Trigger class="chip chip-grant" classList={{ expiring: access.expiring() }} data-testid="grant-countdown">
              <span class="chip-dot" aria-hidden="true" />
              Unlocked · <span class="chip-time">{left()}</span>
              <span class="visually-hidden"> left</span>
            </Popover.Trigger>
            <Popover.Portal>
              <Popover.Content class="chat-popover grant-details">
                <div class="chat-popover-head">
                  <Popover.Title as="h2">Restricted models unlocked</Popover.Title>
                  <Popover.CloseButton class="quiet icon-button" aria-label="Close">
                    ✕
                  </Popover.CloseButton>
                </div>
                <Popover.Description>
                  Unlocked with “{grant().view.keyNickname}” — {left()} left. A touch of your key renews it.
                </Popover.Description>
                <div class="chat-popover-actions">
                  <button type="button" class="primary" aria-disabled={access.unlocking()} onClick={renew}>
                    Renew now
                  </button>
                  {/* A plain button: Kobalte's CloseButton would be named "Dismiss", not what it does. */}
                  <button type="button" class="lock-now" onClick={lockNow}>
                    Lock now
                  </button>
                </div>
              </Popover.Content>
            </Popover.Portal>
          </Popover>
        )}
      </Match>
      <Match when={!access.grant()}>
        <button
          type="button"
          class="chip chip-locked"
          classList={{ wanted: access.keyBack() }}
          aria-label={access.keyBack() ? 'Unlock restricted models — your key is back' : 'Unlock restricted models'}
          title="Restricted models open for a few minutes after a touch of your own key"
          aria-disabled={access.unlocking()}
          onClick={() => void access.unlock()}
        >
          <span class="chip-dot" aria-hidden="true" />
          Unlock
        </button>
      </Match>
    </Switch>
  );
};
