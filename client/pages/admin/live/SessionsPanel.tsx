import { createAsync, useAction, useSubmission } from '@solidjs/router';
import { createUniqueId, For, Show, type Component } from 'solid-js';
import type { AdminSessionView } from '../../../../shared/api.ts';
import { endAdminSession, listAdminSessions } from '../../../api/adminLive.ts';
import type { ConfirmRequest } from '../../../components/ConfirmDialog.tsx';
import { DataTable } from '../../../components/DataTable.tsx';
import { settled } from '../../../lib/settled.ts';
import { describeUserAgent } from '../../../lib/userAgent.ts';
import { StepUpRowAlert } from '../../account/StepUpPrompt.tsx';
import { RelativeTimeCell } from '../RelativeTime.tsx';
import { CurrentSessionFlag, SessionOriginCells } from '../../account/SessionCells.tsx';

/** The headings, in the order SessionRow renders its cells. */
const SESSION_HEADINGS = ['User', 'IP address', 'Browser', 'Signed in', 'Last seen', 'How', 'Actions'] as const;

const METHOD_TEXT: Record<AdminSessionView['method'], string> = {
  password_and_key: 'Password + security key',
  oidc_and_key: 'Company sign-in + security key',
  enrollment: 'Enrollment (new key)',
  oidc_first_key: 'Company sign-in (new key)',
};

type Confirm = (request: ConfirmRequest) => Promise<boolean>;

/** `onGone`: after the session is ended, its row goes: somewhere to put the focus. */
const SessionRow: Component<{ session: AdminSessionView; confirm: Confirm; onGone: () => void }> = (props) => {
  // Row buttons say which row they act on ("Delete", described by the row's name).
  const rowId = createUniqueId();
  const ending = useSubmission(endAdminSession, ([id]) => id === props.session.id);
  const end = useAction(endAdminSession);

  async function endSession() {
    if (ending.pending) return;
    const confirmed = await props.confirm({
      title: `End this session of @${props.session.username}?`,
      message: `${describeUserAgent(props.session.userAgent)} at ${props.session.ip ?? 'an unknown address'} will be signed out at once, and any restricted access it holds ends.`,
      confirmLabel: 'End session',
    });
    if (confirmed && (await settled(end(props.session.id)))) props.onGone();
  }

  return (
    <>
      <tr aria-busy={Boolean(ending.pending)}>
        <th scope="row" id={rowId}>
          {props.session.username}
          <CurrentSessionFlag current={props.session.current} />
        </th>
        <SessionOriginCells session={props.session} />
        <RelativeTimeCell label="Signed in" value={props.session.signedInAt} />
        <RelativeTimeCell label="Last seen" value={props.session.lastSeenAt} />
        <td data-label="How">
          {METHOD_TEXT[props.session.method]}
          <Show when={props.session.keyNickname}>
            {(nickname) => (
              <>
                <br />
                <small class="muted">Key: {nickname()}</small>
              </>
            )}
          </Show>
        </td>
        <td class="row-actions">
          <Show when={!props.session.current}>
            <button type="button" aria-describedby={rowId} class="danger" onClick={endSession}>
              End session
            </button>
          </Show>
        </td>
      </tr>
      <StepUpRowAlert columns={SESSION_HEADINGS.length} busy={Boolean(ending.pending)} error={ending.error} />
    </>
  );
};

/** Every signed-in session, most recently seen first; any but the admin's own can be ended. */
export const SessionsPanel: Component<{ confirm: Confirm; onGone: () => void }> = (props) => {
  const list = createAsync(() => listAdminSessions());
  return (
    <DataTable
      columns={SESSION_HEADINGS}
      count={list()?.sessions.length}
      empty="Nobody is signed in"
      footer={
        <Show when={(list()?.total ?? 0) > (list()?.sessions.length ?? 0)}>
          <p class="muted">
            Showing the {list()?.sessions.length} most recently seen of {list()?.total} sessions.
          </p>
        </Show>
      }
    >
      <For each={list()?.sessions}>{(session) => <SessionRow session={session} confirm={props.confirm} onGone={props.onGone} />}</For>
    </DataTable>
  );
};

