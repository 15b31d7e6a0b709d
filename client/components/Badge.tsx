import type { Component } from 'solid-js';
import type { KeyStatus, Role, UserStatus } from '../../shared/api.ts';
import type { Severity } from '../../shared/audit.ts';

/** Badges that mark a row rather than name a value: their words are ours. */
const FLAG_LABELS = { synced: 'Synced passkey', current: 'This session' } as const;

export type BadgeProps =
  | { kind: 'role'; value: Role }
  | { kind: 'status'; value: UserStatus | KeyStatus }
  | { kind: 'severity'; value: Severity }
  | { kind: 'flag'; value: keyof typeof FLAG_LABELS };

/** A short label whose colour follows its value (see `.badge-*` in styles.css). */
export const Badge: Component<BadgeProps> = (props) => (
  <span class={`badge badge-${props.kind}-${props.value}`}>
    {props.kind === 'flag' ? FLAG_LABELS[props.value] : props.value}
  </span>
);
