import type { RouteDefinition } from '@solidjs/router';
import { onCleanup, type Component } from 'solid-js';
import { listAdminGrants, listAdminSessions, listRecentSecurityEvents } from '../../api/adminLive.ts';
import { listPendingChanges } from '../../api/pendingChanges.ts';
import { ConfirmDialog, createConfirmation } from '../../components/ConfirmDialog.tsx';
import { DataPanel } from '../../components/Panel.tsx';
import { useEvents } from '../../events.tsx';
import { throttledRevalidate } from '../../lib/throttledRevalidate.ts';
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

/** Admin console: who is signed in, who holds restricted access, and security events as they happen. */
export const LiveTab: Component = () => {
  const events = useEvents();
  const confirmation = createConfirmation();
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
      <DataPanel title="Security events" queryKey={listRecentSecurityEvents.key}>
        {() => <SecurityFeed />}
      </DataPanel>
      {/* The two-person rule: what waits for a second admin, as it happens. */}
      <PendingChangesPanel confirm={confirmation.confirm} />
      <DataPanel title="Restricted access" queryKey={listAdminGrants.key}>
        {/* A revoked grant's row goes, and the focus with it: start again at the heading. */}
        {(focusHeading) => <GrantsPanel confirm={confirmation.confirm} onGone={focusHeading} />}
      </DataPanel>
      <DataPanel title="Sessions" queryKey={listAdminSessions.key}>
        {(focusHeading) => <SessionsPanel confirm={confirmation.confirm} onGone={focusHeading} />}
      </DataPanel>
      <ConfirmDialog request={confirmation.request()} onClose={confirmation.answer} />
    </>
  );
};
