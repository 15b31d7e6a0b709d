import { createSignal, onCleanup, Show, type Component } from 'solid-js';
import { exactTime, relativeTime } from '../../lib/relativeTime.ts';

/** One clock for every relative time on the page: they move on together, once a minute. */
const [now, setNow] = createSignal(Date.now());
let watchers = 0;
let timer: ReturnType<typeof setInterval> | undefined;
function watchClock(): () => void {
  watchers += 1;
  if (watchers === 1) {
    setNow(Date.now());
    timer = setInterval(() => setNow(Date.now()), 60_000);
  }
  return () => {
    watchers -= 1;
    if (watchers === 0) clearInterval(timer);
  };
}

/** An instant said relatively ("2 hours ago"); the exact time in the reader's zone on hover. */
export const RelativeTime: Component<{ value: string }> = (props) => {
  onCleanup(watchClock());
  return (
    <time datetime={props.value} title={exactTime(props.value)}>
      {relativeTime(props.value, now())}
    </time>
  );
};

/** A table cell with a relative time, or "Never" while there is none. */
export const RelativeTimeCell: Component<{ value: string | null | undefined; label: string }> = (props) => (
  <td data-label={props.label} class="nowrap">
    <Show when={props.value} fallback={<span class="muted">Never</span>}>
      {(value) => <RelativeTime value={value()} />}
    </Show>
  </td>
);
