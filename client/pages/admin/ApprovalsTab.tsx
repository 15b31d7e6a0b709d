import type { RouteDefinition } from '@solidjs/router';
import type { Component } from 'solid-js';
import { listPendingChanges } from '../../api/pendingChanges.ts';
import { ConfirmDialog, createConfirmation } from '../../components/ConfirmDialog.tsx';
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
      <PendingChangesPanel confirm={confirmation.confirm} />
      <ConfirmDialog request={confirmation.request()} onClose={confirmation.answer} />
    </>
  );
};
