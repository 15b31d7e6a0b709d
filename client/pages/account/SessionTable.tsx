import { createAsync } from '@solidjs/router';
import { For, Show, type Component } from 'solid-js';
import type { SessionView } from '../../../shared/api.ts';
import { endMySession, listMySessions } from '../../api/account.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { RowButton } from '../../components/RowButton.tsx';
import { Time } from '../../components/Time.tsx';
import { useRowActions } from '../../lib/rowActions.ts';
import { CurrentSessionFlag, SessionOriginCells } from './SessionCells.tsx';
import { StepUpRowAlert } from './StepUpPrompt.tsx';

/** The headings, in the order SessionRow renders its cells. */
const SESSION_HEADINGS = ['Signed in', 'IP address', 'Browser', 'Key used', 'Actions'];

const SessionRow: Component<{ session: SessionView; onEnded: () => void }> = (props) => {
  const row = useRowActions({ id: () => props.session.id, actions: { end: endMySession } });

  async function endSession() {
    if (await row.act(() => row.run.end(props.session.id))) props.onEnded();
  }

  return (
    <>
      <tr aria-busy={row.busy()}>
        <th scope="row" id={row.headerId}>
          <Time value={props.session.signedInAt} />
          <CurrentSessionFlag current={props.session.current} />
        </th>
        <SessionOriginCells session={props.session} />
        <td data-label="Key used">{props.session.keyNickname ?? <span class="muted">Not on record</span>}</td>
        <td>
          <Show when={!props.session.current}>
            <div class="row-actions">
              <RowButton describedBy={row.headerId} danger onClick={endSession}>End session</RowButton>
            </div>
          </Show>
        </td>
      </tr>
      <StepUpRowAlert columns={SESSION_HEADINGS.length} busy={row.busy()} error={row.error()} />
    </>
  );
};

/** Where the user is signed in; any session but this one can be ended from here. */
export const SessionTable: Component<{ onEnded: () => void }> = (props) => {
  const list = createAsync(() => listMySessions());

  return (
    <DataTable columns={SESSION_HEADINGS} count={list()?.sessions.length} empty="No sessions">
      <For each={list()?.sessions}>{(session) => <SessionRow session={session} onEnded={props.onEnded} />}</For>
    </DataTable>
  );
};
