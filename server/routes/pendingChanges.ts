import { z } from 'zod';
import type { PendingChangeListResponse, PendingChangeResponse } from '../../shared/api.ts';
import { listWaitingPendingChanges } from '../db/pendingChanges.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { defineRoute, responds } from '../http/route.ts';
import { approvePendingChange, closeUnapproved, expireOverdue, type DecisionRefusal } from '../pendingChanges/decideChange.ts';
import { toPendingChangeView } from '../pendingChanges/pendingChangeView.ts';
import { hostForbidden } from './adminModels.ts';

const ADMIN = ['admin'] as const;
const PendingChangeParams = z.strictObject({ id: z.uuid('not a pending change id') });
/** The console lists what waits; more than this many waiting at once is itself worth a look. */
const LIST_LIMIT = 200;

const CLOSED_WORDS = { applied: 'approved and applied', rejected: 'rejected', cancelled: 'cancelled', expired: 'expired', pending: 'decided' } as const;

/** The stable answer to each refused decision. */
function refusalError(refusal: DecisionRefusal, decision: 'approve' | 'reject' | 'cancel'): HttpError {
  switch (refusal.reason) {
    case 'not_found':
      return notFound('No such pending change.');
    case 'own_change':
      return decision === 'approve'
        ? new HttpError(403, 'SELF_APPROVAL', 'You asked for this change: a second admin must approve it.')
        : new HttpError(409, 'CONFLICT', 'You asked for this change: cancel it instead of rejecting it.');
    case 'not_requester':
      return new HttpError(403, 'FORBIDDEN', 'Only the admin who asked for this change can cancel it; reject it instead.');
    case 'closed':
      return new HttpError(409, 'PENDING_CHANGE_CLOSED', `This change was already ${CLOSED_WORDS[refusal.status]}.`);
    case 'expired':
      return new HttpError(409, 'PENDING_CHANGE_EXPIRED', 'This change was not approved within 24 hours and has expired. Ask for it again.');
    case 'stale':
      return new HttpError(409, 'PENDING_CHANGE_STALE', `This change can no longer be applied: ${refusal.why}. Reject it; the requester can ask again.`);
    case 'host_forbidden':
      return hostForbidden(refusal.refusal);
    case 'invalid':
      return new HttpError(400, 'VALIDATION_FAILED', `This change is no longer valid: ${refusal.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}.`);
  }
}

/** Closes a pending change unapplied: another admin rejects it, or its requester cancels it. */
function closeRoute(decision: 'reject' | 'cancel', summary: string) {
  return defineRoute({
    method: 'post',
    path: `/api/admin/pending-changes/:id/${decision}`,
    access: ADMIN,
    stepUp: true,
    summary,
    response: responds<PendingChangeResponse>(),
    params: PendingChangeParams,
    async handler({ params, user, deps, audit }) {
      const by = { id: user.id, username: user.username };
      const result = await closeUnapproved(deps, { id: params.id, by, decision: decision === 'reject' ? 'rejected' : 'cancelled', context: audit });
      if (!result.decided) throw refusalError(result, decision);
      return { body: { pendingChange: toPendingChangeView(result.pendingChange) } };
    },
  });
}

export const pendingChangeRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/admin/pending-changes',
    access: ADMIN,
    summary: 'Changes waiting for a second admin (the two-person rule), newest first.',
    response: responds<PendingChangeListResponse>(),
    async handler({ deps }) {
      // Expired ones leave the list (audited) now, not at the next sweep.
      await expireOverdue(deps);
      const rows = await listWaitingPendingChanges(deps.pool, LIST_LIMIT);
      return { body: { pendingChanges: rows.map(toPendingChangeView) } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/admin/pending-changes/:id/approve',
    access: ADMIN,
    stepUp: true,
    summary: "Approve another admin's pending change: it is applied now, as the direct change would be. Needs a fresh step-up.",
    response: responds<PendingChangeResponse>(),
    params: PendingChangeParams,
    async handler({ params, user, deps, audit }) {
      const result = await approvePendingChange(deps, { id: params.id, approver: { id: user.id, username: user.username }, context: audit });
      if (!result.decided) throw refusalError(result, 'approve');
      return { body: { pendingChange: toPendingChangeView(result.pendingChange) } };
    },
  }),

  closeRoute('reject', "Reject another admin's pending change: nothing it asked for happens. Needs a fresh step-up."),
  closeRoute('cancel', 'Cancel a pending change you asked for. Needs a fresh step-up.'),
];
