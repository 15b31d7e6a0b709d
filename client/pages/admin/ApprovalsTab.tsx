import type { RouteDefinition } from '@solidjs/router';
import type { Component } from 'solid-js';
import { listPendingChanges } from '../../api/pendingChanges.ts';
import { ConfirmDialog, createConfirmation } from '../../components/ConfirmDialog.tsx';
import { DataBoundary } from '../../components/DataBoundary.tsx';
import { Panel } from '../../components/Panel.tsx';
import { PendingChangesPanel } from './approvals/PendingChangesPanel.tsx';

export const route = {
  preload: () => void listPendingChanges(),
} satisfies RouteDefinition;

/**
 * Admin console: the changes that wait for a second admin (the two-person rule, threat-model
 * G9): recovery links for enrolled users and admins, promotions to admin, new model endpoints.
 */
export const ApprovalsTab: Component = () => {
  const confirmation = createConfirmation();
  return (
    <>
      <Panel title="Pending approvals">
        {(focusHeading) => (
          <DataBoundary queryKey={listPendingChanges.key}>
            {/* A decided change's row goes, and the focus with it: start again at the heading. */}
            <PendingChangesPanel confirm={confirmation.confirm} onGone={focusHeading} />
          </DataBoundary>
        )}
      </Panel>
      <ConfirmDialog request={confirmation.request()} onClose={confirmation.answer} />
    </>
  );
};
