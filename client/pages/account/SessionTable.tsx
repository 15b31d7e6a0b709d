import { createAsync, useAction, useSubmission } from '@solidjs/router';
import { createUniqueId, For, Show, type Component } from 'solid-js';
import type { SessionView } from '../../../shared/api.ts';
import { endMySession, listMySessions } from '../../api/account.ts';
import { Badge } from '../../components/Badge.tsx';
import { Time } from '../../components/Time.tsx';
import { settled } from '../../lib/settled.ts';
import { describeUserAgent } from '../../lib/userAgent.ts';
import { StepUpRowAlert } from './StepUpPrompt.tsx';

const SESSION_COLUMNS = 5;

const SessionRow: Component<{ session: SessionView; onEnded: () => void }> = (props) => {
  // Row buttons say which row they act on ("Delete", described by the row's name).
  const rowId = createUniqueId();
  const ending = useSubmission(endMySession, ([id]) => id === props.session.id);
  const end = useAction(endMySession);

  async function endSession() {
    if (ending.pending) return;
    if (await settled(end(props.session.id))) props.onEnded();
  }

  return (
    <>
      <tr aria-busy={Boolean(ending.pending)}>
        <th scope="row" id={rowId}>
          <Time value={props.session.signedInAt} />
          <Show when={props.session.current}>
            {' '}
            <Badge kind="flag" value="current" />
          </Show>
        </th>
        <td>{props.session.ip ?? <span class="muted">Unknown</span>}</td>
        <td title={props.session.userAgent ?? undefined}>{describeUserAgent(props.session.userAgent)}</td>
        <td>{props.session.keyNickname ?? <span class="muted">Not on record</span>}</td>
        <td>
          <Show when={!props.session.current}>
            <div class="row-actions">
              <button type="button" aria-describedby={rowId} class="danger" onClick={endSession}>
                End session
              </button>
            </div>
          </Show>
        </td>
      </tr>
      <StepUpRowAlert columns={SESSION_COLUMNS} busy={Boolean(ending.pending)} error={ending.error} />
    </>
  );
};

/** Where the user is signed in; any session but this one can be ended from here. */
export const SessionTable: Component<{ onEnded: () => void }> = (props) => {
  const list = createAsync(() => listMySessions());

  return (
    <Show when={list()?.sessions.length} fallback={<p class="empty">No sessions</p>}>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Signed in</th>
              <th scope="col">IP address</th>
              <th scope="col">Browser</th>
              <th scope="col">Key used</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            <For each={list()?.sessions}>{(session) => <SessionRow session={session} onEnded={props.onEnded} />}</For>
          </tbody>
        </table>
      </div>
    </Show>
  );
};
