import { Popover } from '@kobalte/core/popover';
import { A } from '@solidjs/router';
import { createSignal, For, Match, Show, Switch, type Component } from 'solid-js';
import type { PresenceMode } from '../../../shared/api.ts';
import { useModelAccess } from '../../modelAccess.tsx';
import { useSession } from '../../session.tsx';

/** What the chip says: how this browser keeps track of the key. */
const CHIP_TEXT: Record<PresenceMode, { short: string; more: string }> = {
  assertion: { short: 'Key: assertion only', more: ' — renews by touch' },
  webhid: { short: 'Key: watched by this browser', more: '' },
  detector: { short: 'Key: watched by detector', more: '' },
};

const MODE_NAMES: Record<PresenceMode, string> = {
  webhid: 'WebHID',
  detector: 'Detector',
  assertion: 'Assertion only',
};

/**
 * How this browser watches the key, as a chip in the chat header; the full explanation is one
 * click away. Rendered in place (no portal) so the explanation sits next to its chip.
 */
export const PresenceChip: Component = () => {
  const access = useModelAccess();
  const mode = () => access.presence.mode();
  return (
    <div class="presence-chip" data-testid="presence-mode">
      <Popover placement="bottom-end" gutter={6}>
        <Popover.Trigger class="chip" classList={{ watched: mode() !== 'assertion' }}>
          <span class="chip-dot" aria-hidden="true" />
          {CHIP_TEXT[mode()].short}
          <span class="chip-more">{CHIP_TEXT[mode()].more}</span>
        </Popover.Trigger>
        <Popover.Content class="chat-popover presence-details">
          <div class="chat-popover-head">
            <Popover.Title as="h2">Key presence</Popover.Title>
            <Popover.CloseButton class="quiet icon-button" aria-label="Close">
              ✕
            </Popover.CloseButton>
          </div>
          <PresenceDetails />
        </Popover.Content>
      </Popover>
    </div>
  );
};

/**
 * The explanation. The assertion-only text avoids the word "WebHID" on purpose: the mode name
 * is the one place it appears, so the text tells the modes apart.
 */
const PresenceDetails: Component = () => {
  const session = useSession();
  const access = useModelAccess();
  const [watchStatus, setWatchStatus] = createSignal('');
  const mode = () => access.presence.mode();

  function watchKey() {
    setWatchStatus('');
    // Straight from the click: the browser opens its chooser only during a user gesture.
    access.presence.watchKey().then(
      (keys) =>
        setWatchStatus(
          keys.length > 0
            ? `Watching ${keys.map((key) => key.productName || 'your security key').join(', ')}.`
            : 'No security key was chosen. If yours was not listed, this browser hides security keys from web pages.',
        ),
      () => setWatchStatus('The browser would not open its device chooser.'),
    );
  }

  return (
    <>
      <p class="presence-mode">
        Mode: <strong>{MODE_NAMES[mode()]}</strong>
      </p>
      <Switch>
        <Match when={mode() === 'webhid'}>
          <p>This browser can see your security key. Unplugging it locks restricted models at once.</p>
          <Show when={!access.presence.keyVisible()}>
            <p class="muted">Your key is not plugged in right now.</p>
          </Show>
        </Match>
        <Match when={mode() === 'detector'}>
          <p data-testid="detector-status">
            <strong>Detector online</strong>: {access.presence.detectors.online().map((d) => d.name).join(', ')}.
          </p>
          <p>Your paired detector watches your security key. Unplugging the key you unlocked with locks restricted models at once.</p>
          <Show when={access.presence.detectors.keys().length > 0} fallback={<p class="muted">It sees no security key right now.</p>}>
            <p>Keys it sees:</p>
            <ul data-testid="detector-keys">
              <For each={access.presence.detectors.keys()}>
                {(key) => (
                  <li>
                    {key.product ?? 'Security key'}
                    <Show when={key.serialNumber}> (serial {key.serialNumber})</Show>
                  </li>
                )}
              </For>
            </ul>
          </Show>
        </Match>
        <Match when={mode() === 'assertion'}>
          <p>This browser cannot see security keys, so access simply runs out. Touch your key to renew.</p>
          <p class="muted">
            Stock Chrome and Edge hide FIDO security keys from web pages (Chromium’s HID blocklist), and Firefox and
            Safari give web pages no access to USB devices at all.
          </p>
          <p class="muted">
            A paired detector can watch your key instead: <A href="/account">pair one on your account page</A>.
          </p>
          <Show when={session.user()?.role === 'admin'}>
            <p class="muted">
              Managed or kiosk browsers can allow it by starting Chrome with <code>--disable-hid-blocklist</code>.
            </p>
          </Show>
        </Match>
      </Switch>
      <Show when={access.presence.supported()}>
        <button type="button" onClick={watchKey}>
          Let this browser watch my key
        </button>
        <p class="key-prompt muted" role="status">
          {watchStatus()}
        </p>
      </Show>
    </>
  );
};
