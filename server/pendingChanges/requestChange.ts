import { PENDING_CHANGE_HOURS, type PendingChangeKind, type PendingChangeSource, type Role, type UserStatus } from '../../shared/api.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { countActiveKeysForUser } from '../db/keys.ts';
import { getModel, type ModelRow } from '../db/models.ts';
import { getLastGroupPromotion, insertPendingChange, type PendingChangeRow } from '../db/pendingChanges.ts';
import { PG_UNIQUE_VIOLATION, pgErrorCode, withTransaction } from '../db/pool.ts';
import { getUserById, lockUser, type UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import { baseUrlRefusal, planModelChange, type ChangeModelResult } from '../models/manageModels.ts';
import type { ModelChange } from '../models/modelSettings.ts';
import { modelSettingsOf } from '../models/modelViews.ts';
import { newEnrollmentToken } from '../users/enrollmentLink.ts';
import { pendingChangeEvent } from './pendingChangeEvents.ts';
import { twoPersonVerdict, type TwoPersonRuleNote, type TwoPersonVerdict } from './twoPersonRule.ts';

/*
 * The gates in front of the changes the two-person rule covers. Each route asks its gate first:
 * - `{ held: false }`: not a change the rule covers (a role other than admin, a link for someone
 *   with no key, a model change that keeps its URL and key variable), or a target that does not
 *   exist (the direct change then answers 404). The change goes on as before, with `note` for
 *   its audit event when the rule covers it but could not hold it;
 * - `{ held: true }`: a pending change was written and audited; nothing else changed;
 * - `{ held: 'already_waiting' }`: one of its kind waits for the same target already.
 * A held change is checked as the direct change would be first: a change that could never be
 * applied is refused now, not after a second admin has looked at it.
 */

type Requester = { id: string; username: string };
type GateDeps = Pick<Deps, 'pool' | 'config'>;

export type Gate<Extra = unknown> =
  | { held: false; note?: TwoPersonRuleNote }
  | ({ held: true; pendingChange: PendingChangeRow } & Extra)
  | { held: 'already_waiting' };

/** Writes a pending change and its `pending_change.requested` event, the user target (if any) locked first. */
async function holdChange(
  deps: GateDeps,
  {
    kind,
    source = 'admin',
    requester,
    targetUserId = null,
    targetModelId = null,
    change,
    targetSnapshot,
    tokenHash = null,
    details,
    context,
  }: {
    kind: PendingChangeKind;
    source?: PendingChangeSource;
    requester: Requester;
    targetUserId?: string | null;
    targetModelId?: string | null;
    change: Record<string, unknown>;
    targetSnapshot: Record<string, unknown>;
    tokenHash?: Buffer | null;
    details?: Record<string, unknown>;
    context: AuditContext;
  },
): Promise<PendingChangeRow | 'already_waiting' | 'target_gone'> {
  try {
    return await withTransaction(deps.pool, async (client) => {
      // The user first (docs/locking.md): a user deleted meanwhile is a 404 of the direct path.
      if (targetUserId && !(await lockUser(client, targetUserId))) return 'target_gone' as const;
      const row = await insertPendingChange(client, {
        kind,
        source,
        requestedBy: requester,
        hours: PENDING_CHANGE_HOURS,
        targetUserId,
        targetModelId,
        change,
        targetSnapshot,
        tokenHash,
      });
      await recordAuditEvent(client, context, pendingChangeEvent(row, 'pending_change.requested', { details }));
      return row;
    });
  } catch (error) {
    // 23505 unique violation (pending_admin_change_one_waiting): one already waits for this target.
    if (pgErrorCode(error) === PG_UNIQUE_VIOLATION) return 'already_waiting';
    throw error;
  }
}

function asGate<Extra>(held: PendingChangeRow | 'already_waiting' | 'target_gone', extra: Extra): Gate<Extra> {
  if (held === 'already_waiting') return { held: 'already_waiting' };
  if (held === 'target_gone') return { held: false };
  return { held: true, pendingChange: held, ...extra };
}

/**
 * PATCH /api/admin/users/:id with role admin, for someone who is not one: held while another
 * admin could approve. The whole change asked for (a status with it) waits, exactly as asked.
 */
export async function gatePromotion(
  deps: GateDeps,
  { requester, userId, change, context }: { requester: Requester; userId: string; change: { status?: UserStatus | undefined; role?: Role | undefined }; context: AuditContext },
): Promise<Gate> {
  if (change.role !== 'admin') return { held: false };
  const target = await getUserById(deps.pool, userId);
  if (!target || target.role === 'admin') return { held: false };
  const verdict = await twoPersonVerdict(deps.pool, deps.config, requester.id);
  if (!verdict.hold) return { held: false, note: verdict.note };
  const held = await holdChange(deps, {
    kind: 'promote_admin',
    requester,
    targetUserId: target.id,
    change: { role: 'admin', ...(change.status ? { status: change.status } : {}) },
    targetSnapshot: { username: target.username, role: target.role, status: target.status },
    context,
  });
  return asGate(held, {});
}

/**
 * How long a rejected group promotion keeps the same groups from asking again. Without it, each
 * sign-in would put the request an admin has just rejected back in the Approvals tab; with it
 * forever, an admin who rejected by mistake could not get it back. New groups ask at once.
 */
export const GROUP_PROMOTION_REJECTION_DAYS = 7;

/** The groups as a pending change keeps and compares them: each once, sorted, at most 50. */
export function groupsKept(groups: readonly string[]): string[] {
  return [...new Set(groups)].sort().slice(0, 50);
}

/**
 * Company sign-in whose groups make `user` an admin (OIDC_ADMIN_GROUPS, threat model G20):
 * held as an admin's promotion is, while an admin could approve. The provider is the first
 * person and any admin who could approve the second (the user is no admin, so cannot approve
 * it): only with no such admin — the first admin of a new installation — or TWO_PERSON_RULE=off
 * does it go through at once, with `note`. It is asked once, by the user (`source:
 * company_groups`), and not asked again while one waits (`already_waiting`), nor, after a
 * rejection, for the same groups within GROUP_PROMOTION_REJECTION_DAYS (`rejected_before`).
 * A later sign-in whose groups no longer ask withdraws it (decideChange.ts withdrawGroupPromotion).
 */
/** No user yet (a new account of company sign-in): every admin who could approve counts. */
const NO_USER = '00000000-0000-0000-0000-000000000000';

/** Whether the rule holds a promotion to admin that the groups of `userId` (null: an account not yet created) ask for. */
export function groupPromotionHeld(deps: GateDeps, userId: string | null): Promise<TwoPersonVerdict> {
  return twoPersonVerdict(deps.pool, deps.config, userId ?? NO_USER);
}

export async function gateGroupPromotion(
  deps: GateDeps,
  { user, groups, context }: { user: UserRow; groups: readonly string[]; context: AuditContext },
): Promise<Gate | { held: 'rejected_before' }> {
  const verdict = await groupPromotionHeld(deps, user.id);
  if (!verdict.hold) return { held: false, note: verdict.note };
  const kept = groupsKept(groups);
  const last = await getLastGroupPromotion(deps.pool, user.id, GROUP_PROMOTION_REJECTION_DAYS);
  if (last?.status === 'pending' && !last.overdue) return { held: 'already_waiting' };
  const sameGroups = JSON.stringify(last?.target_snapshot.groups) === JSON.stringify(kept);
  if (last?.rejected_recently && sameGroups) return { held: 'rejected_before' };
  const held = await holdChange(deps, {
    kind: 'promote_admin',
    source: 'company_groups',
    requester: { id: user.id, username: user.username },
    targetUserId: user.id,
    change: { role: 'admin' },
    targetSnapshot: { username: user.username, role: user.role, status: user.status, groups: kept },
    details: { groups: kept },
    context,
  });
  return asGate(held, {});
}

/**
 * POST /api/admin/users/:id/enrollment for a user who has an active key or is an admin: whoever
 * opens such a link takes the account over, so it is held while another admin could approve.
 * The link's token is made now and shown once to the requester (`url`); only its hash is kept,
 * and the link works from the approval on. Why the requester and not the approver: it is the
 * requester who hands the link over; an approver who saw it could take the account over alone,
 * which is what the rule prevents; and a link made only at approval would have to wait in the
 * database, readable, until the requester fetched it.
 */
export async function gateRecoveryLink(
  deps: GateDeps,
  { requester, userId, context }: { requester: Requester; userId: string; context: AuditContext },
): Promise<Gate<{ url: string }>> {
  const target = await getUserById(deps.pool, userId);
  if (!target) return { held: false };
  const activeKeys = await countActiveKeysForUser(deps.pool, target.id);
  if (target.role !== 'admin' && activeKeys === 0) return { held: false };
  const verdict = await twoPersonVerdict(deps.pool, deps.config, requester.id);
  if (!verdict.hold) return { held: false, note: verdict.note };
  const { tokenHash, url } = newEnrollmentToken(deps.config);
  const held = await holdChange(deps, {
    kind: 'enrollment_link',
    requester,
    targetUserId: target.id,
    change: {},
    targetSnapshot: { username: target.username, role: target.role, status: target.status },
    tokenHash,
    details: { role: target.role, activeKeys },
    context,
  });
  return asGate(held, { url });
}

/** Whether a model change sets a new base URL or API-key variable. */
function movesEndpoint(model: ModelRow, change: ModelChange): boolean {
  return (change.baseUrl !== undefined && change.baseUrl !== model.base_url) || (change.apiKeyEnv !== undefined && change.apiKeyEnv !== model.api_key_env);
}

/**
 * PATCH /api/admin/models/:id that sets a new base URL or API-key variable: whoever chooses
 * them reads every prompt sent to the model, so the whole change waits, exactly as asked, while
 * another admin could approve. It is checked as the direct change is (the host, the provider's
 * rules, that something changes) before it is held; `refused` answers as the direct change would.
 */
export async function gateModelChange(
  deps: GateDeps,
  { requester, id, change, context }: { requester: Requester; id: string; change: ModelChange; context: AuditContext },
): Promise<Gate | { held: false; refused: Exclude<ChangeModelResult, { changed: true }> }> {
  const model = await getModel(deps.pool, id);
  if (!model || !movesEndpoint(model, change)) return { held: false };
  const verdict = await twoPersonVerdict(deps.pool, deps.config, requester.id);
  if (!verdict.hold) return { held: false, note: verdict.note };
  const refusal = await baseUrlRefusal(deps.config, change.baseUrl);
  if (refusal) return { held: false, refused: { changed: false, reason: 'host_forbidden', refusal } };
  const plan = planModelChange(model, change);
  if (!('ok' in plan)) return { held: false, refused: plan };
  const held = await holdChange(deps, {
    kind: 'model_endpoint',
    requester,
    targetModelId: model.id,
    change,
    targetSnapshot: { ...modelSettingsOf(model) },
    details: { changes: plan.changes },
    context,
  });
  return asGate(held, {});
}
