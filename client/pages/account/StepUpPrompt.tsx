import { Show, type Component } from 'solid-js';
import { keyCeremony } from '../../lib/securityKey.ts';

/**
 * "Touch a key you already registered", while a change waits for the step-up touch that
 * confirms it. Renders nothing otherwise.
 */
export const StepUpPrompt: Component<{ active: boolean }> = (props) => (
  <Show when={props.active && keyCeremony() === 'assertion'}>
    <p class="key-prompt" role="status">
      Touch a key you already registered to confirm.
    </p>
  </Show>
);
