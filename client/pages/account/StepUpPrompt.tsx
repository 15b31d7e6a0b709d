import { Show, type Component } from 'solid-js';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
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

/**
 * The table row under a row whose change waits for a step-up touch or has failed: the touch
 * prompt while `busy`, then the error. Renders nothing when neither applies.
 */
export const StepUpRowAlert: Component<{ columns: number; busy: boolean; error: unknown }> = (props) => (
  <Show when={props.busy || props.error}>
    <tr class="row-alert">
      <td colspan={props.columns}>
        <StepUpPrompt active={props.busy} />
        <ErrorAlert error={props.error} />
      </td>
    </tr>
  </Show>
);
