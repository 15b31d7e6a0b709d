import { createAsync, useAction, useSubmission } from '@solidjs/router';
import { createUniqueId, createSignal, For, onCleanup, Show, type Accessor, type Component } from 'solid-js';
import type { AdminGrantView, PresenceMode } from '../../../../shared/api.ts';
import { listAdminGrants, revokeAdminGrant } from '../../../api/adminLive.ts';
import type { ConfirmRequest } from '../../../components/ConfirmDialog.tsx';
import { formatCountdown } from '../../../lib/countdown.ts';
import { settled } from '../../../lib/settled.ts';
import { StepUpRowAlert } from '../../account/StepUpPrompt.tsx';

const GRANT_COLUMNS = 6;
/** The last seconds of a grant are shown in the warning colour. */
const SOON_SECONDS = 30;

const PRESENCE_TEXT: Record<PresenceMode, string> = {
  webhid: 'Key watched by the browser (WebHID)',
  detector: 'Key watched by a paired detector',
  assertion: 'Touch only: runs out',
};

type Confirm = (request: ConfirmRequest) => Promise<boolean>;

/** `onGone`: after the grant is revoked, its row goes: somewhere to put the focus. */
const GrantRow: Component<{ grant: AdminGrantView; now: Accessor<number>; confirm: Confirm; onGone: () => void }> = (props) => {
  // Row buttons say which row they act on ("Delete", described by the row's name).
  const rowId = createUniqueId();
  const revoking = useSubmission(revokeAdminGrant, ([id]) => id === props.grant.id);
  const revoke = useAction(revokeAdminGrant);
  const secondsLeft = () => Math.max(0, (Date.parse(props.grant.expiresAt) - props.now()) / 1000);

  async function revokeGrant() {
    if (revoking.pending) return;
    const confirmed = await props.confirm({
      title: `Revoke @${props.grant.username}'s access?`,
      message: 'Restricted models lock at once for that session, and any answer being written stops.',
      confirmLabel: 'Revoke',
    });
    if (confirmed && (await settled(revoke(props.grant.id)))) props.onGone();
  }

  return (
    <>
      <tr aria-busy={Boolean(revoking.pending)}>
        <th scope="row" id={rowId}>{props.grant.username}</th>
        <td>{props.grant.models.join(', ')}</td>
        <td>{PRESENCE_TEXT[props.grant.presenceMode]}</td>
        <td>{props.grant.keyNickname}</td>
        <td>
          {/* Read out on request, not every second. */}
          <span class="countdown" classList={{ soon: secondsLeft() <= SOON_SECONDS }} role="timer" aria-live="off">
            {secondsLeft() > 0 ? formatCountdown(secondsLeft()) : 'ending…'}
          </span>
        </td>
        <td class="row-actions">
          <button type="button" aria-describedby={rowId} class="danger" onClick={revokeGrant}>
            Revoke
          </button>
        </td>
      </tr>
      <StepUpRowAlert columns={GRANT_COLUMNS} busy={Boolean(revoking.pending)} error={revoking.error} />
    </>
  );
};

/** Live grants with their countdowns; an admin can end any of them now. */
export const GrantsPanel: Component<{ confirm: Confirm; onGone: () => void }> = (props) => {
  const list = createAsync(() => listAdminGrants());
  const [now, setNow] = createSignal(Date.now());
  const timer = setInterval(() => setNow(Date.now()), 1000);
  onCleanup(() => clearInterval(timer));

  return (
    <Show when={list()?.grants.length} fallback={<p class="empty">No restricted access is live</p>}>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Models</th>
              <th scope="col">Presence</th>
              <th scope="col">Key</th>
              <th scope="col">Ends in</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            <For each={list()?.grants}>{(grant) => <GrantRow grant={grant} now={now} confirm={props.confirm} onGone={props.onGone} />}</For>
          </tbody>
        </table>
      </div>
    </Show>
  );
};
