import { useAction, useSubmission } from '@solidjs/router';
import { createUniqueId, createSignal, Show, type Component } from 'solid-js';
import type { SecurityKeyView } from '../../../shared/api.ts';
import { removeMyKey, renameMyKey } from '../../api/account.ts';
import { Badge } from '../../components/Badge.tsx';
import type { ConfirmRequest } from '../../components/ConfirmDialog.tsx';
import { Time } from '../../components/Time.tsx';
import { settled } from '../../lib/settled.ts';
import { RenameKeyForm } from './RenameKeyForm.tsx';
import { StepUpRowAlert } from './StepUpPrompt.tsx';

export const KEY_COLUMNS = 6;

export interface KeyRowProps {
  securityKey: SecurityKeyView;
  confirm: (request: ConfirmRequest) => Promise<boolean>;
  /** After the key is gone, with its row: somewhere to put the focus. */
  onRemoved: () => void;
}

/**
 * One of the user's keys and what they can do to it. Controls stay enabled while a change is
 * in flight (disabling would drop keyboard focus); a second click is ignored instead.
 */
export const KeyRow: Component<KeyRowProps> = (props) => {
  // Row buttons say which row they act on ("Delete", described by the row's name).
  const rowId = createUniqueId();
  const renaming = useSubmission(renameMyKey, ([id]) => id === props.securityKey.id);
  const removing = useSubmission(removeMyKey, ([id]) => id === props.securityKey.id);
  const rename = useAction(renameMyKey);
  const remove = useAction(removeMyKey);
  const [editing, setEditing] = createSignal(false);
  const busy = () => Boolean(renaming.pending || removing.pending);
  let renameButton: HTMLButtonElement | undefined;

  function startRename() {
    if (busy()) return;
    removing.clear();
    renaming.clear();
    setEditing(true);
  }

  function stopRename() {
    setEditing(false);
    renameButton?.focus();
  }

  async function save(nickname: string) {
    if (busy()) return;
    if (nickname === props.securityKey.nickname) return stopRename();
    const renamed = await settled(rename(props.securityKey.id, nickname));
    if (renamed) stopRename();
  }

  async function removeKey() {
    if (busy()) return;
    const confirmed = await props.confirm({
      title: `Remove “${props.securityKey.nickname}”?`,
      message: 'You will no longer be able to sign in or unlock models with this key. This cannot be undone.',
      confirmLabel: 'Remove',
    });
    if (!confirmed) return;
    renaming.clear();
    const removed = await settled(remove(props.securityKey.id));
    if (removed) props.onRemoved();
  }

  return (
    <>
      <tr aria-busy={busy()}>
        <th scope="row" id={rowId}>{props.securityKey.nickname}</th>
        <td>{props.securityKey.modelName}</td>
        <td>
          <Time value={props.securityKey.createdAt} />
        </td>
        <td>
          <Show when={props.securityKey.lastUsedAt} fallback={<span class="muted">Never</span>}>
            {(lastUsedAt) => <Time value={lastUsedAt()} />}
          </Show>
        </td>
        <td>
          <div class="badges">
            <Badge kind="status" value={props.securityKey.status} />
            <Show when={props.securityKey.synced}>
              <Badge kind="flag" value="synced" />
            </Show>
          </div>
          <Show when={props.securityKey.status !== 'active' && props.securityKey.statusReason}>
            {(reason) => <small class="muted status-reason">{reason()}</small>}
          </Show>
        </td>
        <td>
          <Show
            when={editing()}
            fallback={
              <div class="row-actions">
                <button type="button" aria-describedby={rowId} ref={renameButton} onClick={startRename}>
                  Rename
                </button>
                <button type="button" aria-describedby={rowId} class="danger" onClick={removeKey}>
                  Remove
                </button>
              </div>
            }
          >
            <RenameKeyForm nickname={props.securityKey.nickname} onSave={save} onCancel={stopRename} />
          </Show>
        </td>
      </tr>
      <StepUpRowAlert columns={KEY_COLUMNS} busy={busy()} error={renaming.error ?? removing.error} />
    </>
  );
};
