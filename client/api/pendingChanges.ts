import { action, json, query } from '@solidjs/router';
import type { PendingChangeListResponse, PendingChangeResponse } from '../../shared/api.ts';
import { listUsers } from './admin.ts';
import { listAdminModels } from './adminModels.ts';
import { request } from './http.ts';
import { withStepUp } from './stepUp.ts';

/*
 * The two-person rule (threat-model G9): changes that wait for a second admin. Approving,
 * rejecting and cancelling are admin changes: each needs a fresh step-up, as every other.
 */

const changePath = (id: string, decision: 'approve' | 'reject' | 'cancel') => `/api/admin/pending-changes/${encodeURIComponent(id)}/${decision}`;

/** GET /api/admin/pending-changes: what waits for a second admin, newest first. */
export const listPendingChanges = query(() => request<PendingChangeListResponse>('GET', '/api/admin/pending-changes'), 'pendingChanges');

/** POST …/approve: the change is applied now; the users and models it touched are read again. */
export const approvePendingChange = action(async (id: string) => {
  const decided = await withStepUp(() => request<PendingChangeResponse>('POST', changePath(id, 'approve')));
  return json(decided, { revalidate: [listPendingChanges.key, listUsers.key, listAdminModels.key] });
}, 'approvePendingChange');

/** POST …/reject: another admin's change will not happen. */
export const rejectPendingChange = action(async (id: string) => {
  const decided = await withStepUp(() => request<PendingChangeResponse>('POST', changePath(id, 'reject')));
  return json(decided, { revalidate: listPendingChanges.key });
}, 'rejectPendingChange');

/** POST …/cancel: the requester withdraws their own change. */
export const cancelPendingChange = action(async (id: string) => {
  const decided = await withStepUp(() => request<PendingChangeResponse>('POST', changePath(id, 'cancel')));
  return json(decided, { revalidate: listPendingChanges.key });
}, 'cancelPendingChange');
