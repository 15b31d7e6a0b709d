import type { RouteDefinition } from '@solidjs/router';
import { Show, type Component } from 'solid-js';
import { listMyKeys, listMySessions } from '../api/account.ts';
import { Badge } from '../components/Badge.tsx';
import { ConfirmDialog, createConfirmation } from '../components/ConfirmDialog.tsx';
import { DataBoundary } from '../components/DataBoundary.tsx';
import { PageTitle } from '../components/PageTitle.tsx';
import { Panel } from '../components/Panel.tsx';
import { Time } from '../components/Time.tsx';
import { useSession } from '../session.tsx';
import { AddKeyForm } from './account/AddKeyForm.tsx';
import { KeyTable } from './account/KeyTable.tsx';
import { SessionTable } from './account/SessionTable.tsx';
import { DetectorsSection } from './account/DetectorsSection.tsx';

export const route = {
  preload: () => {
    void listMyKeys(null);
    void listMySessions();
  },
} satisfies RouteDefinition;

/** The signed-in person's profile, security keys and sessions. Every role has one. */
export const Account: Component = () => {
  const session = useSession();
  const confirmation = createConfirmation();

  return (
    <Show when={session.user()}>
      {(user) => (
        <div class="account">
          <PageTitle>Account</PageTitle>
          <dl class="facts card">
            <dt>Username</dt>
            <dd>{user().username}</dd>
            <dt>Display name</dt>
            <dd>{user().displayName}</dd>
            <dt>Role</dt>
            <dd>
              <Badge kind="role" value={user().role} />
            </dd>
            <dt>Member since</dt>
            <dd>
              <Time value={user().createdAt} />
            </dd>
            <Show when={session.expiresAt()}>
              {(expiresAt) => (
                <>
                  <dt>Session ends</dt>
                  <dd>
                    <Time value={expiresAt()} />
                  </dd>
                </>
              )}
            </Show>
          </dl>

          <Panel title="Security keys">
            {(focusHeading) => (
              <>
                <DataBoundary queryKey={listMyKeys.key}>
                  {/* A removed key takes its row and the focus with it: start again at the heading. */}
                  <KeyTable confirm={confirmation.confirm} onRemoved={focusHeading} />
                </DataBoundary>
                <AddKeyForm />
              </>
            )}
          </Panel>

          <Panel title="Sessions">
            {(focusHeading) => (
              <DataBoundary queryKey={listMySessions.key}>
                <SessionTable onEnded={focusHeading} />
              </DataBoundary>
            )}
          </Panel>

          <DetectorsSection confirm={confirmation.confirm} />

          <ConfirmDialog request={confirmation.request()} onClose={confirmation.answer} />
        </div>
      )}
    </Show>
  );
};
