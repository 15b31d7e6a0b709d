import { createAsync } from '@solidjs/router';
import { createSignal, For, onCleanup, type Accessor, type Component } from 'solid-js';
import type { AdminGrantView, PresenceMode } from '../../../../shared/api.ts';
import { listAdminGrants, revokeAdminGrant } from '../../../api/adminLive.ts';
import type { ConfirmRequest } from '../../../components/ConfirmDialog.tsx';
import { DataTable } from '../../../components/DataTable.tsx';
import { RowButton } from '../../../components/RowButton.tsx';
import { formatCountdown } from '../../../lib/countdown.ts';
import { useRowActions } from '../../../lib/rowActions.ts';
import { StepUpRowAlert } from '../../account/StepUpPrompt.tsx';

/** The headings, in the order GrantRow renders its cells. */
const GRANT_HEADINGS = ['User', 'Models', 'Presence', 'Key', 'Ends in', 'Actions'];
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
  const row = useRowActions({
    id: () => props.grant.id,
    actions: { revoke: revokeAdminGrant },
    confirm: (request) => props.confirm(request),
  });
  const secondsLeft = () => Math.max(0, (Date.parse(props.grant.expiresAt) - props.now()) / 1000);

  async function revokeGrant() {
    const revoked = await row.act(() => row.run.revoke(props.grant.id), {
      title: `Revoke @${props.grant.username}'s access?`,
      message: 'Restricted models lock at once for that session, and any answer being written stops.',
      confirmLabel: 'Revoke',
    });
    if (revoked) props.onGone();
  }

  return (
    <>
      <tr aria-busy={row.busy()}>
        <th scope="row" id={row.headerId}>{props.grant.username}</th>
        <td data-label="Models">{props.grant.models.join(', ')}</td>
        <td data-label="Presence">{PRESENCE_TEXT[props.grant.presenceMode]}</td>
        <td data-label="Key">{props.grant.keyNickname}</td>
        <td data-label="Ends in">
          {/* Read out on request, not every second. */}
          <span class="countdown" classList={{ soon: secondsLeft() <= SOON_SECONDS }} role="timer" aria-live="off">
            {secondsLeft() > 0 ? formatCountdown(secondsLeft()) : 'ending…'}
          </span>
        </td>
        <td class="row-actions">
          <RowButton describedBy={row.headerId} danger onClick={revokeGrant}>Revoke</RowButton>
        </td>
      </tr>
      <StepUpRowAlert columns={GRANT_HEADINGS.length} busy={row.busy()} error={row.error()} />
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
    <DataTable columns={GRANT_HEADINGS} count={list()?.grants.length} empty="No restricted access is live">
      <For each={list()?.grants}>{(grant) => <GrantRow grant={grant} now={now} confirm={props.confirm} onGone={props.onGone} />}</For>
    </DataTable>
  );
};
