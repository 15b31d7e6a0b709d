import { revalidate, type RouteDefinition } from '@solidjs/router';
import { createUniqueId, onCleanup, type Component } from 'solid-js';
import { listAdminGrants, listAdminSessions, listRecentSecurityEvents } from '../../api/adminLive.ts';
import { listPendingChanges } from '../../api/pendingChanges.ts';
import { ConfirmDialog, createConfirmation } from '../../components/ConfirmDialog.tsx';
import { DataBoundary } from '../../components/DataBoundary.tsx';
import { Panel } from '../../components/Panel.tsx';
import { useEvents } from '../../events.tsx';
import { PendingChangesPanel } from './approvals/PendingChangesPanel.tsx';
import { GrantsPanel } from './live/GrantsPanel.tsx';
import { SecurityFeed } from './live/SecurityFeed.tsx';
import { SessionsPanel } from './live/SessionsPanel.tsx';

export const route = {
  preload: () => {
    void listAdminSessions();
    void listAdminGrants();
    void listRecentSecurityEvents();
    void listPendingChanges();
  },
} satisfies RouteDefinition;

/** Audit actions after which the sessions or the grants list has changed. */
const SESSION_ACTIONS = new Set(['auth.signin', 'auth.signout', 'auth.session_ended', 'user.disabled', 'key.deactivated', 'key.deleted', 'key.reassigned', 'key.suspended']);
const GRANT_ACTIONS = new Set(['grant.issued', 'grant.renewed', 'grant.revoked', 'grant.expired']);
/** Last-seen times move without audit events: refresh the sessions now and then. */
const SESSIONS_REFRESH_MS = 30_000;

/** Refreshes a query at most once a second, however many events ask for it. */
function throttledRevalidate(key: string): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(timer));
  return () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      void revalidate(key);
    }, 1_000);
  };
}

/** Admin console: who is signed in, who holds restricted access, and security events as they happen. */
export const LiveTab: Component = () => {
  const events = useEvents();
  const confirmation = createConfirmation();
  const feedHeadingId = createUniqueId();
  const refreshSessions = throttledRevalidate(listAdminSessions.key);
  const refreshGrants = throttledRevalidate(listAdminGrants.key);

  onCleanup(
    events.subscribe('SECURITY_EVENT', ({ event }) => {
      if (SESSION_ACTIONS.has(event.action)) refreshSessions();
      if (GRANT_ACTIONS.has(event.action) || SESSION_ACTIONS.has(event.action)) refreshGrants();
    }),
  );
  // After a reconnect, anything may have happened meanwhile.
  onCleanup(
    events.onConnect(() => {
      refreshSessions();
      refreshGrants();
    }),
  );
  const timer = setInterval(refreshSessions, SESSIONS_REFRESH_MS);
  onCleanup(() => clearInterval(timer));

  return (
    <>
      <section class="panel" aria-labelledby={feedHeadingId}>
        <h2 id={feedHeadingId}>Security events</h2>
        <DataBoundary queryKey={listRecentSecurityEvents.key}>
          <SecurityFeed />
        </DataBoundary>
      </section>
      {/* The two-person rule: what waits for a second admin, as it happens. */}
      <Panel title="Pending approvals">
        {(focusHeading) => (
          <DataBoundary queryKey={listPendingChanges.key}>
            <PendingChangesPanel confirm={confirmation.confirm} onGone={focusHeading} />
          </DataBoundary>
        )}
      </Panel>
      <Panel title="Restricted access">
        {(focusHeading) => (
          <DataBoundary queryKey={listAdminGrants.key}>
            {/* A revoked grant's row goes, and the focus with it: start again at the heading. */}
            <GrantsPanel confirm={confirmation.confirm} onGone={focusHeading} />
          </DataBoundary>
        )}
      </Panel>
      <Panel title="Sessions">
        {(focusHeading) => (
          <DataBoundary queryKey={listAdminSessions.key}>
            <SessionsPanel confirm={confirmation.confirm} onGone={focusHeading} />
          </DataBoundary>
        )}
      </Panel>
      <ConfirmDialog request={confirmation.request()} onClose={confirmation.answer} />
    </>
  );
};
