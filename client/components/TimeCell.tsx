import { Show, type Component } from 'solid-js';
import { Time } from './Time.tsx';

/**
 * A table cell with an instant, or "Never" while there is none (a key not yet used, a detector
 * not yet seen). `label` names the column where narrow screens stack the row.
 */
export const TimeCell: Component<{ value: string | null | undefined; label?: string }> = (props) => (
  <td data-label={props.label}>
    <Show when={props.value} fallback={<span class="muted">Never</span>}>
      {(value) => <Time value={value()} />}
    </Show>
  </td>
);
