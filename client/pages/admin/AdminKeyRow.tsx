import { useAction, useSubmission } from '@solidjs/router';
import { createUniqueId, createSignal, Match, Show, Switch, type Component } from 'solid-js';
import type { SecurityKeyView } from '../../../shared/api.ts';
import { deleteAdminKey, reassignAdminKey, setAdminKeyStatus } from '../../api/adminKeys.ts';
import { Badge } from '../../components/Badge.tsx';
import type { ConfirmRequest } from '../../components/ConfirmDialog.tsx';
import { Time } from '../../components/Time.tsx';
import { settled } from '../../lib/settled.ts';
import { StepUpRowAlert } from '../account/StepUpPrompt.tsx';
import { RowForm } from './RowForm.tsx';

export const ADMIN_KEY_COLUMNS = 9;

export interface AdminKeyRowProps {
  securityKey: SecurityKeyView;
  confirm: (request: ConfirmRequest) => Promise<boolean>;
  /** After the key is gone, with its row: somewhere to put the focus. */
  onDeleted: () => void;
}

const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;

/** What WebHID saw of the key when it was registered (metadata, never proof), or a dash. */
const DeviceInfo: Component<{ securityKey: SecurityKeyView }> = (props) => (
  <Show when={props.securityKey.hid} fallback={<span class="muted">—</span>}>
    {(hid) => (
      <span>
        {hid().productName || 'Unnamed device'}{' '}
        <small class="muted">
          {hex(hid().vendorId)}:{hex(hid().productId)}
        </small>
      </span>
    )}
  </Show>
);

/**
 * One security key of any user and what an admin can do to it. Each change ends the grants
 * and sessions the key opened. A key suspended by clone detection is reactivated only with a
 * reason, which the audit log keeps.
 */
export const AdminKeyRow: Component<AdminKeyRowProps> = (props) => {
  // Row buttons say which row they act on ("Delete", described by the row's name).
  const rowId = createUniqueId();
  const changing = useSubmission(setAdminKeyStatus, ([id]) => id === props.securityKey.id);
  const moving = useSubmission(reassignAdminKey, ([id]) => id === props.securityKey.id);
  const deleting = useSubmission(deleteAdminKey, ([id]) => id === props.securityKey.id);
  const setStatus = useAction(setAdminKeyStatus);
  const reassign = useAction(reassignAdminKey);
  const remove = useAction(deleteAdminKey);
  const [editing, setEditing] = createSignal<'reason' | 'owner'>();
  const busy = () => Boolean(changing.pending || moving.pending || deleting.pending);
  const key = () => props.securityKey;
  let actions: HTMLDivElement | undefined;

  const clearErrors = () => {
    changing.clear();
    moving.clear();
    deleting.clear();
  };

  function startEditing(what: 'reason' | 'owner') {
    if (busy()) return;
    clearErrors();
    setEditing(what);
  }

  function stopEditing() {
    setEditing(undefined);
    actions?.querySelector('button')?.focus();
  }

  async function deactivate() {
    if (busy()) return;
    const confirmed = await props.confirm({
      title: `Deactivate “${key().nickname}” of @${key().ownerUsername}?`,
      message: 'Sessions signed in with this key end now, and so does any access to restricted models it opened. It can be reactivated later.',
      confirmLabel: 'Deactivate',
    });
    if (!confirmed) return;
    clearErrors();
    await settled(setStatus(key().id, { status: 'deactivated' }));
  }

  async function reactivate(reason?: string) {
    if (busy()) return;
    clearErrors();
    const changed = await settled(setStatus(key().id, reason ? { status: 'active', reason } : { status: 'active' }));
    if (changed) stopEditing();
  }

  async function moveTo(username: string) {
    if (busy()) return;
    clearErrors();
    const moved = await settled(reassign(key().id, { username }));
    if (moved) stopEditing();
  }

  async function deleteKey() {
    if (busy()) return;
    const confirmed = await props.confirm({
      title: `Delete “${key().nickname}” of @${key().ownerUsername}?`,
      message: 'The key can no longer sign in or unlock models, and the sessions it signed in end now. This cannot be undone.',
      confirmLabel: 'Delete',
    });
    if (!confirmed) return;
    clearErrors();
    const deleted = await settled(remove(key().id));
    if (deleted) props.onDeleted();
  }

  return (
    <>
      <tr aria-busy={busy()}>
        <th scope="row" id={rowId}>{key().nickname}</th>
        <td>{key().ownerUsername}</td>
        <td>{key().modelName}</td>
        <td>
          <div class="badges">
            <Badge kind="status" value={key().status} />
            <Show when={key().synced}>
              <Badge kind="flag" value="synced" />
            </Show>
          </div>
          <Show when={key().status !== 'active' && key().statusReason}>
            {(reason) => <small class="muted status-reason">{reason()}</small>}
          </Show>
        </td>
        <td>
          <Time value={key().createdAt} />
        </td>
        <td>
          <Show when={key().lastUsedAt} fallback={<span class="muted">Never</span>}>
            {(lastUsedAt) => <Time value={lastUsedAt()} />}
          </Show>
        </td>
        <td class="numeric">{key().signCount}</td>
        <td>
          <DeviceInfo securityKey={key()} />
        </td>
        <td>
          <Switch
            fallback={
              <div class="row-actions" ref={actions}>
                <Switch>
                  <Match when={key().status === 'active'}>
                    <button type="button" aria-describedby={rowId} class="danger" onClick={deactivate}>
                      Deactivate
                    </button>
                  </Match>
                  <Match when={key().status === 'suspended'}>
                    <button type="button" aria-describedby={rowId} onClick={() => startEditing('reason')}>
                      Reactivate
                    </button>
                  </Match>
                  <Match when={key().status === 'deactivated'}>
                    <button type="button" aria-describedby={rowId} onClick={() => void reactivate()}>
                      Reactivate
                    </button>
                  </Match>
                </Switch>
                <button type="button" aria-describedby={rowId} onClick={() => startEditing('owner')}>
                  Reassign
                </button>
                <button type="button" aria-describedby={rowId} class="danger" onClick={deleteKey}>
                  Delete
                </button>
              </div>
            }
          >
            <Match when={editing() === 'reason'}>
              <RowForm
                label={`Reason to reactivate ${key().nickname}`}
                submitLabel="Reactivate"
                minLength={3}
                maxLength={500}
                onSubmit={(reason) => void reactivate(reason)}
                onCancel={stopEditing}
              />
            </Match>
            <Match when={editing() === 'owner'}>
              <RowForm
                label={`New owner of ${key().nickname} (username)`}
                submitLabel="Move key"
                maxLength={63}
                onSubmit={(username) => void moveTo(username)}
                onCancel={stopEditing}
              />
            </Match>
          </Switch>
        </td>
      </tr>
      <Show when={editing() === 'reason'}>
        <tr class="row-alert">
          <td colspan={ADMIN_KEY_COLUMNS}>
            <p class="muted">
              Clone detection suspended this key: its signature counter went backwards, which a copied key would
              cause. Say why it is safe to use again; the audit log keeps your reason.
            </p>
          </td>
        </tr>
      </Show>
      <StepUpRowAlert columns={ADMIN_KEY_COLUMNS} busy={busy()} error={changing.error ?? moving.error ?? deleting.error} />
    </>
  );
};
