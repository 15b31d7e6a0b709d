import { createAsync } from '@solidjs/router';
import { For, onCleanup, Show, type Accessor, type Component } from 'solid-js';
import type { PendingChangeView } from '../../../../shared/api.ts';
import { approvePendingChange, cancelPendingChange, listPendingChanges, rejectPendingChange } from '../../../api/pendingChanges.ts';
import type { ConfirmRequest } from '../../../components/ConfirmDialog.tsx';
import { DataTable } from '../../../components/DataTable.tsx';
import { DataPanel } from '../../../components/Panel.tsx';
import { RowButton } from '../../../components/RowButton.tsx';
import { useEvents } from '../../../events.tsx';
import { createNow, exactTime } from '../../../lib/relativeTime.ts';
import { useRowActions } from '../../../lib/rowActions.ts';
import { throttledRevalidate } from '../../../lib/throttledRevalidate.ts';
import { useSession } from '../../../session.tsx';
import { StepUpRowAlert } from '../../account/StepUpPrompt.tsx';
import { RelativeTime } from '../RelativeTime.tsx';
import { changeDetails, changeTitle } from './describeChange.ts';

/** The headings, in the order PendingChangeRow renders its cells. */
export const PENDING_HEADINGS = ['Change', 'Asked by', 'Asked', 'Expires', 'Actions'] as const;

type Confirm = (request: ConfirmRequest) => Promise<boolean>;

const HOUR = 3_600_000;
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'always', style: 'short' });

/** "in 23 hr.", "in 40 min.": how long a second admin has left to approve. */
export function expiresIn(iso: string, now: number): string {
  const left = Date.parse(iso) - now;
  if (left <= 0) return 'expired';
  return left < HOUR ? relative.format(Math.max(1, Math.round(left / 60_000)), 'minute') : relative.format(Math.round(left / HOUR), 'hour');
}

const PendingChangeRow: Component<{ change: PendingChangeView; mine: boolean; now: Accessor<number>; confirm: Confirm; onGone: () => void }> = (props) => {
  const row = useRowActions({
    id: () => props.change.id,
    actions: { approve: approvePendingChange, reject: rejectPendingChange, cancel: cancelPendingChange },
    confirm: (request) => props.confirm(request),
  });

  async function decide(decision: 'approve' | 'reject' | 'cancel') {
    const title = changeTitle(props.change);
    const questions: Record<typeof decision, ConfirmRequest> = {
      approve: {
        title: `Approve: ${title}?`,
        message: `@${props.change.requestedBy.username} asked for this. It takes effect as soon as you confirm with your key.`,
        confirmLabel: 'Approve',
      },
      reject: { title: `Reject: ${title}?`, message: `Nothing of it happens; @${props.change.requestedBy.username} can ask again.`, confirmLabel: 'Reject' },
      cancel: { title: `Cancel: ${title}?`, message: 'Nothing of it happens; you can ask again.', confirmLabel: 'Cancel the change' },
    };
    const decided = await row.act(() => row.run[decision](props.change.id), questions[decision]);
    if (decided) props.onGone();
  }

  return (
    <>
      <tr aria-busy={row.busy()}>
        <th scope="row" id={row.headerId}>
          {changeTitle(props.change)}
          <For each={changeDetails(props.change)}>
            {(line) => (
              <>
                <br />
                <small class="muted pending-detail">{line}</small>
              </>
            )}
          </For>
        </th>
        <td data-label="Asked by" class="nowrap">
          @{props.change.requestedBy.username}
        </td>
        <td data-label="Asked" class="nowrap">
          <RelativeTime value={props.change.requestedAt} />
        </td>
        <td data-label="Expires" class="nowrap">
          <time datetime={props.change.expiresAt} title={exactTime(props.change.expiresAt)}>
            {expiresIn(props.change.expiresAt, props.now())}
          </time>
        </td>
        <td class="row-actions">
          <Show
            when={!props.mine}
            fallback={
              <>
                <span class="pending-waiting">Waiting for a second admin</span>
                <RowButton describedBy={row.headerId} onClick={() => void decide('cancel')}>
                  Cancel
                </RowButton>
              </>
            }
          >
            <RowButton describedBy={row.headerId} onClick={() => void decide('approve')}>
              Approve
            </RowButton>
            <RowButton describedBy={row.headerId} danger onClick={() => void decide('reject')}>
              Reject
            </RowButton>
          </Show>
        </td>
      </tr>
      <StepUpRowAlert columns={PENDING_HEADINGS.length} busy={row.busy()} error={row.error()} />
    </>
  );
};

/**
 * Changes waiting for a second admin (the two-person rule): what, who asked, when, and how long
 * is left. Another admin's change can be approved (with a touch of the key) or rejected; one's
 * own waits, and can be cancelled. The list follows the live feed: any step of any pending
 * change, on any node, refreshes it.
 */
const PendingChangeTable: Component<{ confirm: Confirm; onGone: () => void }> = (props) => {
  const list = createAsync(() => listPendingChanges());
  const session = useSession();
  const events = useEvents();
  const now = createNow(30_000);
  const refresh = throttledRevalidate(listPendingChanges.key);
  onCleanup(events.subscribe('SECURITY_EVENT', ({ event }) => event.action.startsWith('pending_change.') && refresh()));
  onCleanup(events.onConnect(refresh));

  return (
    <DataTable
      columns={PENDING_HEADINGS}
      count={list()?.pendingChanges.length}
      empty="Nothing waits for approval"
      footer={<p class="muted note">A second admin must approve these within 24 hours of the request; the admin who asked cannot.</p>}
    >
      <For each={list()?.pendingChanges}>
        {(change) => <PendingChangeRow change={change} mine={change.requestedBy.id === session.user()?.id} now={now} confirm={props.confirm} onGone={props.onGone} />}
      </For>
    </DataTable>
  );
};

/** The "Pending approvals" panel, on the Approvals tab and the Live tab alike. */
export const PendingChangesPanel: Component<{ confirm: Confirm }> = (props) => (
  <DataPanel title="Pending approvals" queryKey={listPendingChanges.key}>
    {/* A decided change's row goes, and the focus with it: start again at the heading. */}
    {(focusHeading) => <PendingChangeTable confirm={props.confirm} onGone={focusHeading} />}
  </DataPanel>
);
