import type { Component } from 'solid-js';

/** A small padlock, drawn (no emoji font needed); decorative: the text beside it says what it means. */
export const LockIcon: Component<{ open?: boolean }> = (props) => (
  <svg class="lock-icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
    <path
      d={props.open ? 'M5 7V4.8a3 3 0 0 1 5.8-1.1' : 'M5 7V4.8a3 3 0 0 1 6 0V7'}
      fill="none"
      stroke="currentColor"
      stroke-width="1.6"
      stroke-linecap="round"
    />
    <rect x="3" y="7" width="10" height="7.5" rx="1.6" fill="currentColor" />
  </svg>
);
