import { A, useAction, useSubmission } from '@solidjs/router';
import { createUniqueId, Show, type Component } from 'solid-js';
import { isPendingChangeAnswer, ROLES, type AdminUserView, type PendingChangeView, type Role } from '../../../shared/api.ts';
import { ROLE_LABELS } from '../../access.ts';
import { deleteUser, issueEnrollmentLink, updateUser } from '../../api/admin.ts';
import type { ConfirmRequest } from '../../components/ConfirmDialog.tsx';
import { settled } from '../../lib/settled.ts';
import { StepUpRowAlert } from '../account/StepUpPrompt.tsx';
import { plural } from '../../lib/plural.ts';
import { RelativeTimeCell } from './RelativeTime.tsx';
import { RowMenu, type RowMenuItem } from './RowMenu.tsx';
import { SignInFactorsCell, useCompanySignInActions } from './SignInFactors.tsx';
import type { IssuedLink } from './types.ts';

/** The headings, in the order UserRow renders its cells. */
export const USER_HEADINGS = ['Username', 'Display name', 'Role', 'State', 'Signs in with', 'Keys', 'Last sign-in', 'Created', 'Actions'] as const;

type UserState = 'link_sent' | 'password_set' | 'active' | 'disabled';

/** Where the account stands, in the admin's words: disabled first, then how far enrollment got. */
const STATE_TEXT: Record<UserState, string> = {
  link_sent: 'Link sent — not started',
  password_set: 'Password set — key pending',
  active: 'Active',
  disabled: 'Disabled',
};

function stateOf(user: AdminUserView): UserState {
  if (user.status === 'disabled') return 'disabled';
  return user.enrollment === 'complete' ? 'active' : user.enrollment;
}

export interface UserRowProps {
  user: AdminUserView;
  confirm: (request: ConfirmRequest) => Promise<boolean>;
  onIssued: (issued: IssuedLink) => void;
  /** A change the two-person rule held for a second admin (a promotion to admin). */
  onHeld: (change: PendingChangeView) => void;
  /** After the user is gone, with their row: somewhere to put the focus. */
  onDeleted: () => void;
}

/**
 * One user and what an admin can do to them, behind the row's Actions menu. A second choice
 * while a change is in flight is ignored.
 */
export const UserRow: Component<UserRowProps> = (props) => {
  // The menu button says which row it acts on ("Actions", described by the row's name).
  const rowId = createUniqueId();
  const updating = useSubmission(updateUser, ([id]) => id === props.user.id);
  const issuing = useSubmission(issueEnrollmentLink, ([id]) => id === props.user.id);
  const deleting = useSubmission(deleteUser, ([id]) => id === props.user.id);
  const update = useAction(updateUser);
  const issue = useAction(issueEnrollmentLink);
  const remove = useAction(deleteUser);
  const active = () => props.user.status === 'active';
  const company = useCompanySignInActions(() => props.user, (request) => props.confirm(request));
  const busy = () => Boolean(updating.pending || issuing.pending || deleting.pending || company.pending());
  const clearErrors = () => {
    updating.clear();
    issuing.clear();
    deleting.clear();
    company.clear();
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

  async function changeRole(role: Role) {
    if (busy()) return;
    const confirmed = await props.confirm({
      title: `Change the role of @${props.user.username} to ${ROLE_LABELS[role]}?`,
      message:
        `${props.user.displayName} is signed out everywhere and signs in again with the new role.` +
        (role === 'admin' ? ' While another admin could approve it, a second admin must: it waits under Approvals until then.' : ''),
      confirmLabel: 'Change role',
    });
    if (!confirmed) return;
    clearErrors();
    const answer = await settled(update(props.user.id, { role }));
    if (answer && isPendingChangeAnswer(answer)) props.onHeld(answer.pendingChange);
  }

  async function issueLink() {
    if (busy()) return;
    clearErrors();
    const answer = await settled(issue(props.user.id));
    if (!answer) return;
    props.onIssued(
      isPendingChangeAnswer(answer)
        ? { username: props.user.username, link: answer.enrollment, waitsFor: answer.pendingChange }
        : { username: props.user.username, link: answer },
    );
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

  const menu = (): RowMenuItem[] => [
    { label: active() ? 'Disable' : 'Enable', danger: active(), run: () => void toggleStatus() },
    ...ROLES.filter((role) => role !== props.user.role).map(
      (role, index): RowMenuItem => ({ label: `Change role to ${ROLE_LABELS[role]}`, group: index === 0, run: () => void changeRole(role) }),
    ),
    { label: 'New enrollment link', group: true, run: () => void issueLink() },
    ...company.items(),
    { label: 'Delete', danger: true, group: true, run: () => void deleteAccount() },
  ];

  return (
    <>
      <tr aria-busy={busy()}>
        <th scope="row" id={rowId} class="nowrap">{props.user.username}</th>
        <td data-label="Display name" class="truncate" title={props.user.displayName}>
          {props.user.displayName}
        </td>
        <td data-label="Role">
          <span class={`badge badge-role-${props.user.role}`}>{ROLE_LABELS[props.user.role]}</span>
        </td>
        <td data-label="State">
          <span class={`badge user-state user-state-${stateOf(props.user)}`}>{STATE_TEXT[stateOf(props.user)]}</span>
        </td>
        <td data-label="Signs in with">
          <SignInFactorsCell user={props.user} />
        </td>
        <td data-label="Keys" class="nowrap">
          <Show when={props.user.keyCount > 0} fallback={<span class="muted">None</span>}>
            <A href={`/admin/keys?owner=${encodeURIComponent(props.user.username)}`}>
              {plural(props.user.keyCount, 'key')}
              <span class="visually-hidden"> of {props.user.username}</span>
            </A>
          </Show>
        </td>
        <RelativeTimeCell label="Last sign-in" value={props.user.lastSignInAt} />
        <RelativeTimeCell label="Created" value={props.user.createdAt} />
        <td class="row-menu-cell">
          <RowMenu describedBy={rowId} items={menu()} />
        </td>
      </tr>
      <StepUpRowAlert columns={USER_HEADINGS.length} busy={busy()} error={updating.error ?? issuing.error ?? deleting.error ?? company.error()} />
    </>
  );
};
