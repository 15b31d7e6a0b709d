import { A, useAction, useSubmission } from '@solidjs/router';
import { createUniqueId, For, Show, type Component } from 'solid-js';
import { ROLES, type PublicUser } from '../../../shared/api.ts';
import { ROLE_LABELS } from '../../access.ts';
import { deleteUser, issueEnrollmentLink, updateUser } from '../../api/admin.ts';
import { Badge } from '../../components/Badge.tsx';
import type { ConfirmRequest } from '../../components/ConfirmDialog.tsx';
import { Time } from '../../components/Time.tsx';
import { settled } from '../../lib/settled.ts';
import { StepUpRowAlert } from '../account/StepUpPrompt.tsx';
import type { IssuedLink } from './types.ts';

const USER_COLUMNS = 6;

export interface UserRowProps {
  user: PublicUser;
  confirm: (request: ConfirmRequest) => Promise<boolean>;
  onIssued: (issued: IssuedLink) => void;
  /** After the user is gone, with their row: somewhere to put the focus. */
  onDeleted: () => void;
}

/**
 * One user and what an admin can do to them. Controls stay enabled while a change is in
 * flight (disabling would drop keyboard focus); a second click is ignored instead.
 */
export const UserRow: Component<UserRowProps> = (props) => {
  // Row buttons say which row they act on ("Delete", described by the row's name).
  const rowId = createUniqueId();
  const updating = useSubmission(updateUser, ([id]) => id === props.user.id);
  const issuing = useSubmission(issueEnrollmentLink, ([id]) => id === props.user.id);
  const deleting = useSubmission(deleteUser, ([id]) => id === props.user.id);
  const update = useAction(updateUser);
  const issue = useAction(issueEnrollmentLink);
  const remove = useAction(deleteUser);
  const active = () => props.user.status === 'active';
  const busy = () => Boolean(updating.pending || issuing.pending || deleting.pending);
  const clearErrors = () => {
    updating.clear();
    issuing.clear();
    deleting.clear();
  };

  async function toggleStatus() {
    if (busy()) return;
    const verb = active() ? 'Disable' : 'Enable';
    const status = active() ? 'disabled' : 'active';
    const confirmed = await props.confirm({
      title: `${verb} @${props.user.username}?`,
      message: active()
        ? `${props.user.displayName} is signed out everywhere at once, loses access to restricted models, and cannot sign in until the account is enabled again.`
        : `${props.user.displayName} will be able to sign in again.`,
      confirmLabel: verb,
    });
    if (!confirmed) return;
    clearErrors();
    await settled(update(props.user.id, { status }));
  }

  async function changeRole(select: HTMLSelectElement) {
    const role = ROLES.find((candidate) => candidate === select.value);
    if (busy() || !role) {
      select.value = props.user.role;
      return;
    }
    const confirmed = await props.confirm({
      title: `Change the role of @${props.user.username} to ${ROLE_LABELS[role]}?`,
      message: `${props.user.displayName} is signed out everywhere and signs in again with the new role.`,
      confirmLabel: 'Change role',
    });
    if (!confirmed) {
      select.value = props.user.role;
      return;
    }
    clearErrors();
    const updated = await settled(update(props.user.id, { role }));
    // Refused (the last admin, say): show the role the user still has.
    if (!updated) select.value = props.user.role;
  }

  async function issueLink() {
    if (busy()) return;
    clearErrors();
    const link = await settled(issue(props.user.id));
    if (link) props.onIssued({ username: props.user.username, link });
  }

  async function deleteAccount() {
    if (busy()) return;
    const confirmed = await props.confirm({
      title: `Delete @${props.user.username}?`,
      message: `${props.user.displayName} and their security keys are removed and they are signed out everywhere. The audit log keeps their history. This cannot be undone.`,
      confirmLabel: 'Delete',
    });
    if (!confirmed) return;
    clearErrors();
    const deleted = await settled(remove(props.user.id));
    if (deleted) props.onDeleted();
  }

  return (
    <>
      <tr aria-busy={busy()}>
        <th scope="row" id={rowId}>{props.user.username}</th>
        <td>{props.user.displayName}</td>
        <td>
          <select aria-label={`Change role for ${props.user.username}`} onChange={(event) => changeRole(event.currentTarget)}>
            <For each={ROLES}>
              {(role) => (
                <option value={role} selected={role === props.user.role}>
                  {ROLE_LABELS[role]}
                </option>
              )}
            </For>
          </select>
        </td>
        <td>
          <Badge kind="status" value={props.user.status} />
        </td>
        <td>
          <Time value={props.user.createdAt} />
        </td>
        <td class="row-actions">
          <button type="button" aria-describedby={rowId} class={active() ? 'danger' : undefined} onClick={toggleStatus}>
            {active() ? 'Disable' : 'Enable'}
          </button>
          <A href={`/admin/keys?owner=${encodeURIComponent(props.user.username)}`} aria-label={`Security keys of ${props.user.username}`}>
            Keys
          </A>
          <button type="button" aria-describedby={rowId} onClick={issueLink}>
            New enrollment link
          </button>
          <button type="button" aria-describedby={rowId} class="danger" onClick={deleteAccount}>
            Delete
          </button>
        </td>
      </tr>
      <StepUpRowAlert columns={USER_COLUMNS} busy={busy()} error={updating.error ?? issuing.error ?? deleting.error} />
    </>
  );
};
