import { Show, type Component } from 'solid-js';
import type { SecurityKeyView } from '../../../shared/api.ts';
import { Badge } from '../../components/Badge.tsx';

/** A security key's status cell: its status, whether it is a synced passkey, and why it is not active. */
export const KeyStatusBadges: Component<{ securityKey: SecurityKeyView }> = (props) => (
  <>
    <div class="badges">
      <Badge kind="status" value={props.securityKey.status} />
      <Show when={props.securityKey.synced}>
        <Badge kind="flag" value="synced" />
      </Show>
    </div>
    <Show when={props.securityKey.status !== 'active' && props.securityKey.statusReason}>
      {(reason) => <small class="muted status-reason">{reason()}</small>}
    </Show>
  </>
);
