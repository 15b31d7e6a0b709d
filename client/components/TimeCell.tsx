import { Show, type Component } from 'solid-js';
import { Time } from './Time.tsx';

/** A table cell with an instant, or "Never" while there is none (a key not yet used, a detector not yet seen). */
export const TimeCell: Component<{ value: string | null | undefined }> = (props) => (
  <td>
    <Show when={props.value} fallback={<span class="muted">Never</span>}>
      {(value) => <Time value={value()} />}
    </Show>
  </td>
);
