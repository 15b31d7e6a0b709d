import type { RouteDefinition } from '@solidjs/router';
import { createSignal, createUniqueId, Show, useTransition, type Component } from 'solid-js';
import { ALL_USERS, listUsers, sameFilters, type UserFilters } from '../api/admin.ts';
import { ConfirmDialog, createConfirmation } from '../components/ConfirmDialog.tsx';
import { DataBoundary } from '../components/DataBoundary.tsx';
import { OneTimeLink } from '../components/OneTimeLink.tsx';
import { PageTitle } from '../components/PageTitle.tsx';
import { ConsoleSections } from './admin/ConsoleSections.tsx';
import { CreateUserForm } from './admin/CreateUserForm.tsx';
import type { IssuedLink } from './admin/types.ts';
import { UserFilterBar } from './admin/UserFilterBar.tsx';
import { UserTable } from './admin/UserTable.tsx';

export const route = {
  preload: () => listUsers(ALL_USERS, null),
} satisfies RouteDefinition;

export const AdminConsole: Component = () => {
  const [issued, setIssued] = createSignal<IssuedLink>();
  const [filters, setFilters] = createSignal<UserFilters>(ALL_USERS, { equals: sameFilters });
  // A transition keeps the current rows on screen while a new search loads.
  const [searching, startSearch] = useTransition();
  const confirmation = createConfirmation();
  const usersHeadingId = createUniqueId();

  return (
    <>
      <PageTitle>Admin console</PageTitle>
      <ConsoleSections />
      <Show when={issued()} keyed>
        {(shown) => (
          <OneTimeLink username={shown.username} link={shown.link} onDismiss={() => setIssued(undefined)} />
        )}
      </Show>
      <CreateUserForm onCreated={setIssued} />
      <section class="panel" aria-labelledby={usersHeadingId}>
        <h2 id={usersHeadingId}>Users</h2>
        <UserFilterBar onChange={(next) => startSearch(() => setFilters(next))} />
        <div class="results" aria-busy={searching()}>
          <DataBoundary queryKey={listUsers.key}>
            {/* New filters make a new list: paging starts again from the first page. */}
            <Show when={filters()} keyed>
              {(current) => (
                <UserTable filters={current} confirm={confirmation.confirm} onIssued={setIssued} />
              )}
            </Show>
          </DataBoundary>
        </div>
      </section>
      <ConfirmDialog request={confirmation.request()} onClose={confirmation.answer} />
    </>
  );
};
