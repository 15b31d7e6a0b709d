import { onCleanup } from 'solid-js';

/**
 * How a filter bar hands its filters on: `now` (Enter, a changed select) or `soon`, after a
 * pause in typing, so each keystroke does not start a search. A pending `soon` is dropped
 * when `now` runs or the bar goes away. Call inside a component.
 */
export function createFilterApplier(apply: () => void, delayMs: number): { now: () => void; soon: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(timer));
  const now = () => {
    clearTimeout(timer);
    apply();
  };
  return {
    now,
    soon: () => {
      clearTimeout(timer);
      timer = setTimeout(now, delayMs);
    },
  };
}
