import type { Component } from 'solid-js';
import type { KeyStatus, ModelTier, Role, UserStatus } from '../../shared/api.ts';
import type { Severity } from '../../shared/audit.ts';

/** Badges that mark a row rather than name a value: their words are ours. */
const FLAG_LABELS = {
  synced: 'Synced passkey',
  current: 'This session',
  demo: 'Demo model — offline, not a real AI',
} as const;

const TIER_LABELS: Record<ModelTier, string> = { standard: 'Standard', restricted: 'Restricted' };

export type BadgeProps =
  | { kind: 'role'; value: Role }
  | { kind: 'status'; value: UserStatus | KeyStatus }
  | { kind: 'severity'; value: Severity }
  | { kind: 'tier'; value: ModelTier }
  | { kind: 'flag'; value: keyof typeof FLAG_LABELS };

function label(props: BadgeProps): string {
  switch (props.kind) {
    case 'flag':
      return FLAG_LABELS[props.value];
    case 'tier':
      return TIER_LABELS[props.value];
    default:
      // pending_approval reads "Pending approval".
      return props.value.replaceAll('_', ' ');
  }
}

/** A short label whose colour follows its value (see client/styles/badges.css). */
export const Badge: Component<BadgeProps> = (props) => (
  <span class={`badge badge-${props.kind}-${props.value}`}>{label(props)}</span>
);
