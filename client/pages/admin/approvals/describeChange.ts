import type { ModelSettings, PendingChangeView } from '../../../../shared/api.ts';
import { ROLE_LABELS } from '../../../access.ts';

/** The model settings' names as the model form labels them. */
const SETTING_LABELS: Record<keyof ModelSettings | 'enabled', string> = {
  displayName: 'display name',
  description: 'description',
  provider: 'provider',
  baseUrl: 'base URL',
  upstreamModel: 'upstream model',
  apiKeyEnv: 'API key variable',
  tier: 'tier',
  grantSeconds: 'grant lifetime',
  requiresUserVerification: 'user verification',
  maxOutputTokens: 'max output tokens',
  enabled: 'enabled',
};

const shown = (value: unknown) => (value === null || value === '' ? 'none' : String(value));

/** What a pending change asks for, in one line an admin reads before approving it. */
export function changeTitle(change: PendingChangeView): string {
  switch (change.kind) {
    case 'enrollment_link':
      return `New enrollment link for @${change.target.username}`;
    case 'promote_admin':
      return `Make @${change.target.username} an admin`;
    case 'model_endpoint':
      return `Re-point the model ${change.target.displayName}`;
  }
}

/** The detail under the title: why it matters, and each value before → after. */
export function changeDetails(change: PendingChangeView): string[] {
  switch (change.kind) {
    case 'enrollment_link':
      return [
        change.target.role === 'admin'
          ? 'Whoever opens the link takes over this admin account.'
          : 'They have a security key: whoever opens the link takes over the account.',
      ];
    case 'promote_admin':
      return [
        `Role now: ${ROLE_LABELS[change.target.role]}${change.change.status ? `; status ${change.change.status}` : ''}.`,
        ...(change.source === 'company_groups'
          ? [`Asked by their company sign-in: their groups at the provider (${(change.groups ?? []).join(', ') || 'none'}) include an admin group.`]
          : []),
      ];
    case 'model_endpoint':
      return (Object.keys(change.change) as Array<keyof typeof change.change>).map(
        (field) => `${SETTING_LABELS[field]}: ${shown(change.before[field])} → ${shown(change.change[field])}`,
      );
  }
}
