import type { Component } from 'solid-js';
import type { Role, UserStatus } from '../../shared/api.ts';
import type { Severity } from '../../shared/audit.ts';

/** A short label whose colour follows its value (see `.badge-*` in styles.css). */
export const Badge: Component<{ kind: 'role' | 'status' | 'severity'; value: Role | UserStatus | Severity }> = (
  props,
) => <span class={`badge badge-${props.kind}-${props.value}`}>{props.value}</span>;
