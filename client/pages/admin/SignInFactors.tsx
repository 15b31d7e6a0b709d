import { createAsync, useAction, useSubmission } from '@solidjs/router';
import { Show, type Component } from 'solid-js';
import type { AdminUserView } from '../../../shared/api.ts';
import { allowCompanySignIn, removeCompanySignIn } from '../../api/companySignIn.ts';
import { getSignInMethods } from '../../api/session.ts';
import type { ConfirmRequest } from '../../components/ConfirmDialog.tsx';
import { settled } from '../../lib/settled.ts';
import type { RowMenuItem } from './RowMenu.tsx';

/** How a user starts signing in (the security key always follows): password, company account, or both. */
export const SignInFactorsCell: Component<{ user: AdminUserView }> = (props) => {
  const factors = () => props.user.signIn;
  return (
    <div class="badges sign-in-factors">
      <Show when={factors().password}>
        <span class="badge sign-in-factor">Password</span>
      </Show>
      <Show when={factors().company === 'linked'}>
        <span class="badge sign-in-factor sign-in-factor-company">Company account</span>
      </Show>
      <Show when={factors().company === 'allowed'}>
        <span class="badge sign-in-factor" title="The next company sign-in under this username links to the account">
          Company (allowed)
        </span>
      </Show>
      <Show when={!factors().password && factors().company === 'none'}>
        <span class="muted">Not yet</span>
      </Show>
    </div>
  );
};

/**
 * The row menu's company sign-in actions for one user, when company sign-in is configured:
 * allow the next company sign-in to link to the account, or remove it.
 */
export function useCompanySignInActions(user: () => AdminUserView, confirm: (request: ConfirmRequest) => Promise<boolean>) {
  const methods = createAsync(() => getSignInMethods());
  const allowing = useSubmission(allowCompanySignIn, ([id]) => id === user().id);
  const removing = useSubmission(removeCompanySignIn, ([id]) => id === user().id);
  const allow = useAction(allowCompanySignIn);
  const remove = useAction(removeCompanySignIn);

  async function allowLink() {
    const confirmed = await confirm({
      title: `Allow company sign-in for @${user().username}?`,
      message: `The next company sign-in whose username is “${user().username}” is linked to this account for good. Do this only for the person who owns it.`,
      confirmLabel: 'Allow',
    });
    if (confirmed) await settled(allow(user().id));
  }

  async function removeLink() {
    const confirmed = await confirm({
      title: `Remove company sign-in from @${user().username}?`,
      message: 'Their company account no longer signs in here, and sessions that began with it end now.',
      confirmLabel: 'Remove',
    });
    if (confirmed) await settled(remove(user().id));
  }

  const items = (): RowMenuItem[] => {
    if (!methods()?.company) return [];
    return user().signIn.company === 'none'
      ? [{ label: 'Allow company sign-in', group: true, run: () => void allowLink() }]
      : [{ label: 'Remove company sign-in', group: true, danger: true, run: () => void removeLink() }];
  };
  return {
    items,
    pending: () => Boolean(allowing.pending || removing.pending),
    error: () => allowing.error ?? removing.error,
    clear: () => {
      allowing.clear();
      removing.clear();
    },
  };
}
