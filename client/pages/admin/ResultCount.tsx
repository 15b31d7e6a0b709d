import type { Component } from 'solid-js';
import { plural } from '../../lib/plural.ts';

/** "3 users", or "50 users shown, more to load" while pages remain. */
export const ResultCount: Component<{ count: number; noun: string; more: boolean }> = (props) => (
  <p class="result-count muted" role="status">
    {plural(props.count, props.noun)}
    {props.more ? ' shown, more to load' : ''}
  </p>
);
