import type { AuditContext } from '../audit/record.ts';
import { grantKeyStillActive } from '../chat/streamAnswer.ts';
import { getModel } from '../db/models.ts';
import type { Deps } from '../deps.ts';
import type { Grant } from '../grants/grants.ts';

/**
 * Who may read a restricted conversation (docs/architecture.md invariant 9, "Restricted
 * conversations"): the session holds a live grant, checked as for a stream (same session, this
 * user, a valid MAC, the key that made it still active; fail closed when Redis cannot answer),
 * whose models include every model the conversation has used that is still an enabled
 * restricted model. If none of them still is (disabled, or made standard), any such live grant
 * of the session covers it: the conversation stays restricted for good.
 */

/** Why there is no cover: Redis cannot answer (fail closed), no live grant, its key no longer active, or it lacks a model. */
export type CoverRefusal = 'grant_check_unavailable' | 'no_grant' | 'key_not_active' | 'models_not_covered';

export type SessionGrant = { grant: Grant } | { grant: null; reason: Exclude<CoverRefusal, 'models_not_covered'> };

/** The session's live grant, its key checked: once per request (the list checks every row against it). */
export async function sessionGrant(deps: Deps, { sessionId, userId, context }: { sessionId: string; userId: string; context: AuditContext }): Promise<SessionGrant> {
  let grant: Grant | null;
  try {
    grant = await deps.grants.forSession(sessionId);
  } catch (error) {
    deps.log.error({ err: (error as Error).message }, 'grant check failed: restricted conversations stay locked');
    return { grant: null, reason: 'grant_check_unavailable' };
  }
  if (!grant || grant.userId !== userId) return { grant: null, reason: 'no_grant' };
  if (!(await grantKeyStillActive(deps, { grant, userId, modelId: null, context }))) return { grant: null, reason: 'key_not_active' };
  return { grant };
}

/** The models a grant must cover to read a conversation that used `restrictedModels`: those still enabled and restricted. */
export async function modelsToCover(deps: Pick<Deps, 'pool' | 'rows'>, restrictedModels: readonly string[]): Promise<string[]> {
  const models = await Promise.all(restrictedModels.map((id) => deps.rows.models.get(id, (modelId) => getModel(deps.pool, modelId))));
  return models.flatMap((model) => (model && model.enabled && model.tier === 'restricted' ? [model.id] : []));
}

export type Cover = { covered: true; grant: Grant } | { covered: false; reason: CoverRefusal };

/** Whether the session's grant (already checked) covers a conversation that used `restrictedModels`. */
export async function coverOf(deps: Pick<Deps, 'pool' | 'rows'>, session: SessionGrant, restrictedModels: readonly string[]): Promise<Cover> {
  if (!session.grant) return { covered: false, reason: session.reason };
  const required = await modelsToCover(deps, restrictedModels);
  const { grant } = session;
  return required.every((model) => grant.models.includes(model)) ? { covered: true, grant } : { covered: false, reason: 'models_not_covered' };
}
