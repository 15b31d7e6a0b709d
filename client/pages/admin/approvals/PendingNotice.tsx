import { A } from '@solidjs/router';
import type { Component } from 'solid-js';
import type { PendingChangeView } from '../../../../shared/api.ts';
import { Time } from '../../../components/Time.tsx';
import { changeTitle } from './describeChange.ts';

/**
 * What a change the two-person rule held says in place of a success: it waits for a second
 * admin, until when, and where they approve it.
 */
export const PendingNotice: Component<{ change: PendingChangeView }> = (props) => (
  <div class="pending-notice" role="status">
    <p>
      <strong>Waiting for a second admin:</strong> {changeTitle(props.change)}. Nothing has changed yet. Another admin approves it
      under <A href="/admin/approvals">Approvals</A> before <Time value={props.change.expiresAt} />.
    </p>
  </div>
);
