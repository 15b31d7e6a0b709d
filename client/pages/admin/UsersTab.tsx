import { useSearchParams } from '@solidjs/router';
import { createSignal, createUniqueId, Show, useTransition, type Component } from 'solid-js';
import { ALL_USERS, listUsers, sameFilters, type UserFilters } from '../../api/admin.ts';
import { ConfirmDialog, createConfirmation } from '../../components/ConfirmDialog.tsx';
import { DataBoundary } from '../../components/DataBoundary.tsx';
import { OneTimeLink } from '../../components/OneTimeLink.tsx';
import type { PendingChangeView } from '../../../shared/api.ts';
import { PendingNotice } from './approvals/PendingNotice.tsx';
import { CreateUserForm } from './CreateUserForm.tsx';
import type { IssuedLink } from './types.ts';
import { UserFilterBar } from './UserFilterBar.tsx';
import { UserTable } from './UserTable.tsx';

export const preloadUsers = () => void listUsers(ALL_USERS, null);

/** Users: create them, hand out enrollment links, change roles, disable and delete. */
export const UsersTab: Component = () => {
  const [issued, setIssued] = createSignal<IssuedLink>();
  /** The latest change the two-person rule held for a second admin, said in place of a success. */
  const [held, setHeld] = createSignal<PendingChangeView>();
  const [params] = useSearchParams();
  // A link (the audit log's) may open the list searched for one user.
  const linked = typeof params.q === 'string' ? params.q.trim() : '';
  const [filters, setFilters] = createSignal<UserFilters>({ ...ALL_USERS, q: linked }, { equals: sameFilters });
  // A transition keeps the current rows on screen while a new search loads.
  const [searching, startSearch] = useTransition();
  const confirmation = createConfirmation();
  const usersHeadingId = createUniqueId();
  let usersHeading!: HTMLHeadingElement;

  return (
    <>
      <Show when={issued()} keyed>
        {(shown) => (
          <OneTimeLink
            username={shown.username}
            link={shown.link}
            waitsFor={shown.waitsFor}
            onDismiss={() => {
              setIssued(undefined);
              // The link and its Done button are gone: continue at the list the user is in.
              usersHeading.focus();
            }}
          />
        )}
      </Show>
      <Show when={held()} keyed>
        {(change) => <PendingNotice change={change} />}
      </Show>
      <CreateUserForm onCreated={setIssued} onHeld={setHeld} />
      <section class="panel" aria-labelledby={usersHeadingId}>
        <h2 id={usersHeadingId} ref={usersHeading} tabIndex={-1}>
          Users
        </h2>
        <UserFilterBar initialQuery={linked} onChange={(next) => startSearch(() => setFilters(next))} />
        <div class="results" aria-busy={searching()}>
          <DataBoundary queryKey={listUsers.key}>
            {/* New filters make a new list: paging starts again from the first page. */}
            <Show when={filters()} keyed>
              {(current) => (
                <UserTable
                  filters={current}
                  confirm={confirmation.confirm}
                  onIssued={setIssued}
                  onHeld={setHeld}
                  onDeleted={() => usersHeading.focus()}
                />
              )}
            </Show>
          </DataBoundary>
        </div>
      </section>
      <ConfirmDialog request={confirmation.request()} onClose={confirmation.answer} />
    </>
  );
};
