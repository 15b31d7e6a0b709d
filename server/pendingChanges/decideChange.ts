import type { Role, UserStatus } from '../../shared/api.ts';
import { recordAuditEvent, SYSTEM_CONTEXT, type AuditContext, type AuditInput } from '../audit/record.ts';
import { getModelForUpdate, type ModelRow } from '../db/models.ts';
import { closePendingChange, expireOverduePendingChanges, getLastGroupPromotion, getPendingChange, type PendingChangeRow } from '../db/pendingChanges.ts';
import { withTransaction, type PoolClient } from '../db/pool.ts';
import { lockUserWithActiveAdmins, type UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import type { HostRefusal } from '../models/modelHosts.ts';
import { applyModelChange, baseUrlRefusal, endGrantsLostTo, planModelChange } from '../models/manageModels.ts';
import type { ModelChange } from '../models/modelSettings.ts';
import { modelSettingsOf } from '../models/modelViews.ts';
import { applyUserChange, endAccessAfterUserChange, type AppliedUserChange } from '../users/changeUser.ts';
import { writeEnrollment } from '../users/enrollmentLink.ts';
import { pendingChangeEvent } from './pendingChangeEvents.ts';
import { GROUP_PROMOTION_REJECTION_DAYS, groupsKept } from './requestChange.ts';
import type { TwoPersonRuleNote } from './twoPersonRule.ts';

/*
 * Deciding a pending change: a second admin approves it (the route asks for a fresh step-up)
 * or rejects it, its requester cancels it (a group promotion: the user's next company sign-in
 * without the admin group), or it expires. Approval applies it exactly as the
 * direct change would have been: the same checks run again, the same rows are written with the
 * same audit events (which say `twoPersonRule: 'approved'`), and the same grants and sessions
 * end after the commit. One transaction, in the lock order of docs/locking.md: user rows in id
 * order, then the pending change, then a model row; every audit event last.
 */

type Decider = { id: string; username: string };

/** Why a decision was refused. The route answers each with a stable code. */
export type DecisionRefusal =
  | { reason: 'not_found' }
  /** The requester approving their own change, or rejecting it (they cancel it instead). */
  | { reason: 'own_change' }
  /** Someone other than the requester cancelling it (another admin rejects it instead). */
  | { reason: 'not_requester' }
  | { reason: 'closed'; status: PendingChangeRow['status'] }
  | { reason: 'expired' }
  /** The target changed or went since it was asked, or the requester is no longer an active admin. */
  | { reason: 'stale'; why: string }
  /** The checks of the direct change, run again: a model's host, or its settings as a whole. */
  | { reason: 'host_forbidden'; refusal: HostRefusal }
  | { reason: 'invalid'; issues: Array<{ path: string; message: string }> };

export type DecisionResult = { decided: true; pendingChange: PendingChangeRow } | ({ decided: false } & DecisionRefusal);

/** Thrown inside an approval's transaction to roll back what it wrote: a check of the direct change failed. */
class ApprovalRefused extends Error {
  override name = 'ApprovalRefused';
  constructor(readonly refusal: DecisionRefusal) {
    super(refusal.reason);
  }
}

/** What to do after the commit, as the direct change does: end grants and sessions. */
type AfterCommit =
  | { kind: 'user'; userId: string; applied: Extract<AppliedUserChange, { changed: true }> }
  | { kind: 'model'; before: ModelRow; after: ModelRow }
  | { kind: 'none' };

/**
 * A refusal found under the locks, audited as a refused approval (a requester approving their
 * own change is worth an alarm). Nothing else was written, so the transaction commits just this.
 */
async function refuseApproval(client: PoolClient, context: AuditContext, row: PendingChangeRow, refusal: DecisionRefusal): Promise<DecisionResult> {
  await recordAuditEvent(client, context, {
    ...pendingChangeEvent(row, 'pending_change.approved', { outcome: 'denied', details: { reason: refusal.reason, ...('why' in refusal ? { why: refusal.why } : {}) } }),
  });
  return { decided: false, ...refusal };
}

/** Marks one overdue change expired, audited; true if it was (and is now) expired. */
async function expireIfOverdue(client: PoolClient, row: PendingChangeRow): Promise<boolean> {
  if (!row.overdue) return row.status === 'expired';
  for (const expired of await expireOverduePendingChanges(client, row.id)) {
    await recordAuditEvent(client, SYSTEM_CONTEXT, pendingChangeEvent(expired, 'pending_change.expired'));
  }
  return true;
}

function sameSettings(model: ModelRow, snapshot: Record<string, unknown>): boolean {
  const now = modelSettingsOf(model);
  const keys = Object.keys(now) as Array<keyof typeof now>;
  return keys.length === Object.keys(snapshot).length && keys.every((key) => now[key] === snapshot[key]);
}

/**
 * A second admin approves a pending change: it is applied now, as the direct change would
 * have been, if it is still pending, within its 24 hours, not the approver's own, its
 * requester still an active admin, and its target as it was when asked.
 */
export async function approvePendingChange(
  deps: Pick<Deps, 'pool' | 'config' | 'grants' | 'sessions'>,
  { id, approver, context }: { id: string; approver: Decider; context: AuditContext },
): Promise<DecisionResult> {
  const peek = await getPendingChange(deps.pool, id);
  if (!peek) return { decided: false, reason: 'not_found' };
  const change = peek.change;
  // Resolved before any lock is taken: a slow name server must not hold them.
  const hostRefusal = peek.kind === 'model_endpoint' ? await baseUrlRefusal(deps.config, (change as ModelChange).baseUrl) : null;

  let after: AfterCommit = { kind: 'none' };
  let result: DecisionResult;
  try {
    result = await withTransaction(deps.pool, async (client): Promise<DecisionResult> => {
      after = { kind: 'none' };
      // 1. Users, in id order: the target (or the requester) with every active admin.
      const locked = await lockUserWithActiveAdmins(client, peek.target_user_id ?? peek.requested_by);
      // 2. The pending change, decided once.
      const row = await getPendingChange(client, id, true);
      if (!row) return { decided: false, reason: 'not_found' };
      if (await expireIfOverdue(client, row)) return { decided: false, reason: 'expired' };
      if (row.status !== 'pending') return refuseApproval(client, context, row, { reason: 'closed', status: row.status });
      if (row.requested_by === approver.id) return refuseApproval(client, context, row, { reason: 'own_change' });
      // A promotion asked by the user's own company sign-in has no admin behind it to check:
      // the provider asked, and this approver is the one admin the rule needs (threat model G20).
      if (row.source === 'admin' && !locked.activeAdmins.includes(row.requested_by)) {
        return refuseApproval(client, context, row, { reason: 'stale', why: 'its requester is no longer an active admin' });
      }
      const note: TwoPersonRuleNote = { twoPersonRule: 'approved', pendingChangeId: row.id, requestedBy: row.requested_by_username };
      const approved = pendingChangeEvent(row, 'pending_change.approved');
      const applied = pendingChangeEvent(row, 'pending_change.applied');

      switch (row.kind) {
        case 'promote_admin': {
          const target = locked.user;
          const snapshot = row.target_snapshot as { role: Role; status: UserStatus };
          if (!target) return refuseApproval(client, context, row, { reason: 'stale', why: 'the user no longer exists' });
          if (target.role !== snapshot.role || target.status !== snapshot.status) {
            return refuseApproval(client, context, row, { reason: 'stale', why: 'the user’s role or status changed since it was asked' });
          }
          const decided = await closePendingChange(client, row.id, { status: 'applied', decidedBy: approver });
          const userChange = row.change as { role: 'admin'; status?: UserStatus };
          const done = await applyUserChange(client, { userId: target.id, role: userChange.role, status: userChange.status, twoPersonRule: note });
          // Locked above and made no one less an admin: neither refusal can happen, but a refusal must never commit half a change.
          if (!done.changed) throw new ApprovalRefused({ reason: 'stale', why: done.reason });
          after = { kind: 'user', userId: target.id, applied: done };
          const source = row.source === 'company_groups' ? { source: row.source } : {};
          const roleEvents = done.auditEvents.map((event) => ({ ...event, details: { ...event.details, ...source } }));
          return finish(client, context, decided, [approved, ...roleEvents, applied]);
        }
        case 'enrollment_link': {
          const target = locked.user;
          if (!target) return refuseApproval(client, context, row, { reason: 'stale', why: 'the user no longer exists' });
          const decided = await closePendingChange(client, row.id, { status: 'applied', decidedBy: approver });
          const { auditEvent } = await writeEnrollment(client, {
            config: deps.config,
            userId: target.id,
            username: target.username,
            tokenHash: row.token_hash!,
            // The requester holds the link and hands it over.
            createdBy: row.requested_by,
            twoPersonRule: note,
          });
          return finish(client, context, decided, [approved, auditEvent, applied]);
        }
        case 'model_endpoint': {
          // 3. The model, after the pending change.
          const model = await getModelForUpdate(client, row.target_model_id!);
          if (!model) return refuseApproval(client, context, row, { reason: 'stale', why: 'the model no longer exists' });
          if (!sameSettings(model, row.target_snapshot)) return refuseApproval(client, context, row, { reason: 'stale', why: 'the model changed since it was asked' });
          if (hostRefusal) return refuseApproval(client, context, row, { reason: 'host_forbidden', refusal: hostRefusal });
          const plan = planModelChange(model, change as ModelChange);
          if (!('ok' in plan)) {
            return refuseApproval(client, context, row, plan.reason === 'invalid' ? { reason: 'invalid', issues: plan.issues } : { reason: 'stale', why: 'it would change nothing' });
          }
          const decided = await closePendingChange(client, row.id, { status: 'applied', decidedBy: approver });
          const done = await applyModelChange(client, { id: model.id, change: change as ModelChange, twoPersonRule: note });
          if (!done.changed) throw new ApprovalRefused({ reason: 'stale', why: done.reason });
          after = { kind: 'model', before: done.before, after: done.model };
          return finish(client, context, decided, [approved, done.auditEvent, applied]);
        }
      }
    });
  } catch (error) {
    if (error instanceof ApprovalRefused) return { decided: false, ...error.refusal };
    throw error;
  }
  // After the commit, as the direct change: grants first, then sessions.
  const followUp = after as AfterCommit;
  if (followUp.kind === 'user') await endAccessAfterUserChange(deps, { userId: followUp.userId, applied: followUp.applied, context });
  if (followUp.kind === 'model') await endGrantsLostTo(deps, { before: followUp.before, after: followUp.after, context });
  return result;
}

/** Appends an approval's events, its rows all written: approved, the change's own, applied. */
async function finish(client: PoolClient, context: AuditContext, decided: PendingChangeRow, events: AuditInput[]): Promise<DecisionResult> {
  for (const event of events) await recordAuditEvent(client, context, event);
  return { decided: true, pendingChange: decided };
}

/**
 * Another admin rejects a pending change, or its requester cancels it. Only the pending change
 * is locked and written; nothing it asked for happens.
 */
export async function closeUnapproved(
  deps: Pick<Deps, 'pool'>,
  { id, by, decision, context }: { id: string; by: Decider; decision: 'rejected' | 'cancelled'; context: AuditContext },
): Promise<DecisionResult> {
  return withTransaction(deps.pool, async (client): Promise<DecisionResult> => {
    const row = await getPendingChange(client, id, true);
    if (!row) return { decided: false, reason: 'not_found' };
    if (await expireIfOverdue(client, row)) return { decided: false, reason: 'expired' };
    if (row.status !== 'pending') return { decided: false, reason: 'closed', status: row.status };
    const own = row.requested_by === by.id;
    if (decision === 'cancelled' && !own) return { decided: false, reason: 'not_requester' };
    if (decision === 'rejected' && own) return { decided: false, reason: 'own_change' };
    const decided = await closePendingChange(client, row.id, { status: decision, decidedBy: by });
    await recordAuditEvent(client, context, pendingChangeEvent(decided, decision === 'rejected' ? 'pending_change.rejected' : 'pending_change.cancelled'));
    return { decided: true, pendingChange: decided };
  });
}

/**
 * A company sign-in whose groups no longer make `user` an admin withdraws the promotion an
 * earlier sign-in's groups asked for (threat model G20): the provider that asked has taken it
 * back, so no admin may approve it now. It is cancelled in the user's name (its requester),
 * audited as `pending_change.cancelled` with `reason: 'groups_changed'` and the groups now
 * named. Answers whether one was withdrawn. A withdrawal is no rejection: the admin group back
 * asks again at once.
 */
export async function withdrawGroupPromotion(
  deps: Pick<Deps, 'pool'>,
  { user, groups, context }: { user: Pick<UserRow, 'id' | 'username'>; groups: readonly string[]; context: AuditContext },
): Promise<boolean> {
  const last = await getLastGroupPromotion(deps.pool, user.id, GROUP_PROMOTION_REJECTION_DAYS);
  if (last?.status !== 'pending') return false;
  return withTransaction(deps.pool, async (client) => {
    // Locked and read again: an approval racing this sign-in decides it first, or finds it cancelled.
    const row = await getPendingChange(client, last.id, true);
    if (!row || row.status !== 'pending') return false;
    if (await expireIfOverdue(client, row)) return false;
    const decided = await closePendingChange(client, row.id, { status: 'cancelled', decidedBy: { id: user.id, username: user.username } });
    await recordAuditEvent(client, context, pendingChangeEvent(decided, 'pending_change.cancelled', { details: { reason: 'groups_changed', groups: groupsKept(groups) } }));
    return true;
  });
}

/** Expires every pending change past its 24 hours, each audited once (whichever node gets there first). */
export async function expireOverdue(deps: Pick<Deps, 'pool'>): Promise<number> {
  return withTransaction(deps.pool, async (client) => {
    const expired = await expireOverduePendingChanges(client);
    for (const row of expired) await recordAuditEvent(client, SYSTEM_CONTEXT, pendingChangeEvent(row, 'pending_change.expired'));
    return expired.length;
  });
}

/** How often each node looks for pending changes past their expiry. */
const EXPIRY_SWEEP_MS = 60_000;

/** Expires overdue pending changes every minute (the list and every decision also do, first). Answers the stop. */
export function startPendingChangeExpiry(deps: Pick<Deps, 'pool' | 'log'>): () => void {
  const timer = setInterval(() => {
    expireOverdue(deps).catch((error: unknown) => deps.log.warn({ err: (error as Error).message }, 'pending changes could not be expired'));
  }, EXPIRY_SWEEP_MS);
  timer.unref();
  return () => clearInterval(timer);
}
