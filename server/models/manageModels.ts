import type { ModelTestResult } from '../../shared/api.ts';
import type { Severity } from '../../shared/audit.ts';
import { recordAuditEvent, type AuditContext, type AuditInput } from '../audit/record.ts';
import { getModel, getModelForUpdate, insertModel, updateModel, type ModelRow } from '../db/models.ts';
import { PG_UNIQUE_VIOLATION, pgErrorCode, withTransaction, type PoolClient } from '../db/pool.ts';
import type { Deps } from '../deps.ts';
import type { TwoPersonRuleNote } from '../pendingChanges/twoPersonRule.ts';
import { ModelHostForbiddenError, modelHostGuard, type HostRefusal } from './modelHosts.ts';
import { modelRuleIssues, type ModelChange, type NewModelInput } from './modelSettings.ts';
import { modelSettingsOf } from './modelViews.ts';
import { ProviderError, streamCompletion } from './providers.ts';

export type AddModelResult =
  | { added: true; model: ModelRow }
  | { added: false; reason: 'exists' }
  | { added: false; reason: 'host_forbidden'; refusal: HostRefusal };

/**
 * Why a base URL is refused when it is saved (its host is, or resolves to, an address inside
 * Argus's network that MODEL_HOST_ALLOWLIST does not allow), or null. An early, friendly
 * answer only: the connection itself is checked again, on the address it is made to.
 */
export async function baseUrlRefusal(config: Deps['config'], baseUrl: string | null | undefined): Promise<HostRefusal | null> {
  if (!baseUrl) return null;
  const verdict = await modelHostGuard(config).checkBaseUrl(baseUrl);
  return verdict.allowed ? null : { host: verdict.host, address: verdict.address, range: verdict.range };
}

/** Adds a model to the catalog (settings already validated by NewModelSchema), audited with it. */
export async function addModel(deps: Pick<Deps, 'pool' | 'config'>, { model, context }: { model: NewModelInput; context: AuditContext }): Promise<AddModelResult> {
  const refusal = await baseUrlRefusal(deps.config, model.baseUrl);
  if (refusal) return { added: false, reason: 'host_forbidden', refusal };
  try {
    return await withTransaction(deps.pool, async (client) => {
      const row = await insertModel(client, model);
      await recordAuditEvent(client, context, {
        action: 'model.added',
        outcome: 'success',
        // A new restricted model changes who can do what as much as a relaxed one.
        severity: row.tier === 'restricted' ? 'high' : undefined,
        target: { type: 'model', id: row.id },
        model: row.id,
        details: { after: modelSettingsOf(row) },
      });
      return { added: true as const, model: row };
    });
  } catch (error) {
    // 23505 unique violation: the id is taken.
    if (pgErrorCode(error) === PG_UNIQUE_VIOLATION) return { added: false, reason: 'exists' };
    throw error;
  }
}

export type ChangeModelResult =
  | { changed: true; model: ModelRow }
  | { changed: false; reason: 'not_found' | 'no_change' }
  | { changed: false; reason: 'invalid'; issues: Array<{ path: string; message: string }> }
  | { changed: false; reason: 'host_forbidden'; refusal: HostRefusal };

/** Loosening access to a model is a high-severity change. */
function changeSeverity(before: ModelRow, after: ModelRow): Severity | undefined {
  if (before.tier === 'restricted' && after.tier === 'standard') return 'high';
  if (before.requires_user_verification && !after.requires_user_verification) return 'high';
  return undefined;
}

/**
 * Whether a change takes access to a restricted model away from grants made under the old
 * settings: disabling it, or asking for user verification the grants were not made with.
 */
function tightensGrants(before: ModelRow, after: ModelRow): boolean {
  if (before.tier !== 'restricted') return false;
  if (before.enabled && !after.enabled) return true;
  return after.tier === 'restricted' && !before.requires_user_verification && after.requires_user_verification;
}

/**
 * Applies a change to a model: the row is locked, the change merged into it and checked as a
 * whole (an openai model keeps a base URL), and the before/after of each changed setting is
 * audited in the same transaction. A change that tightens a restricted model ends the live
 * grants covering it at once (their streams stop), as any other loss of access does.
 */
export async function changeModel(
  deps: Pick<Deps, 'pool' | 'grants' | 'config'>,
  { id, change, context, twoPersonRule }: { id: string; change: ModelChange; context: AuditContext; twoPersonRule?: TwoPersonRuleNote | undefined },
): Promise<ChangeModelResult> {
  // Resolved before the row is locked: a slow name server must not hold the lock.
  const refusal = await baseUrlRefusal(deps.config, change.baseUrl);
  if (refusal) return { changed: false, reason: 'host_forbidden', refusal };
  const result = await withTransaction(deps.pool, async (client) => {
    const applied = await applyModelChange(client, { id, change, twoPersonRule });
    if (applied.changed) await recordAuditEvent(client, context, applied.auditEvent);
    return applied;
  });
  if (result.changed) await endGrantsLostTo(deps, { before: result.before, after: result.model, context });
  return result.changed ? { changed: true, model: result.model } : result;
}

/** What a change would do to a model: the settings after it and each changed setting's before and after. */
export type PlannedModelChange =
  | { ok: true; merged: ReturnType<typeof modelSettingsOf>; changes: Record<string, { from: unknown; to: unknown }> }
  | { changed: false; reason: 'no_change' }
  | { changed: false; reason: 'invalid'; issues: Array<{ path: string; message: string }> };

/** Merges a change into a model and checks the result as a whole (an openai model keeps a base URL); writes nothing. */
export function planModelChange(before: ModelRow, change: ModelChange): PlannedModelChange {
  const current = modelSettingsOf(before);
  const merged = { ...current, ...change };
  const issues = modelRuleIssues(merged);
  if (issues.length > 0) return { changed: false, reason: 'invalid', issues };
  const changes = Object.fromEntries(
    (Object.keys(change) as Array<keyof typeof current>)
      .filter((field) => merged[field] !== current[field])
      .map((field) => [field, { from: current[field], to: merged[field] }]),
  );
  if (Object.keys(changes).length === 0) return { changed: false, reason: 'no_change' };
  return { ok: true, merged, changes };
}

/**
 * The row of a model change, in the caller's transaction: the row is locked, the change planned
 * and written, and its audit event (each changed setting's before and after) answered for the
 * caller to append once all its rows are written (the chain lock is last, docs/locking.md).
 */
export async function applyModelChange(
  client: PoolClient,
  { id, change, twoPersonRule }: { id: string; change: ModelChange; twoPersonRule?: TwoPersonRuleNote | undefined },
): Promise<Exclude<ChangeModelResult, { changed: true }> | { changed: true; model: ModelRow; before: ModelRow; auditEvent: AuditInput }> {
  const before = await getModelForUpdate(client, id);
  if (!before) return { changed: false, reason: 'not_found' };
  const plan = planModelChange(before, change);
  if (!('ok' in plan)) return plan;
  const fields = Object.keys(plan.changes);
  const after = await updateModel(client, { id, ...plan.merged });
  const onlyEnabled = fields.length === 1 && fields[0] === 'enabled';
  return {
    changed: true,
    model: after,
    before,
    auditEvent: {
      action: onlyEnabled ? (after.enabled ? 'model.enabled' : 'model.disabled') : 'model.changed',
      outcome: 'success',
      severity: changeSeverity(before, after),
      target: { type: 'model', id },
      model: id,
      details: { changes: plan.changes, ...twoPersonRule },
    },
  };
}

/** After a model change has committed: one that tightens a restricted model ends the live grants covering it. */
export async function endGrantsLostTo(
  deps: Pick<Deps, 'grants'>,
  { before, after, context }: { before: ModelRow; after: ModelRow; context: AuditContext },
): Promise<void> {
  if (!tightensGrants(before, after)) return;
  const covering = (await deps.grants.listLive(10_000)).filter((grant) => grant.models.includes(after.id));
  await Promise.all(covering.map((grant) => deps.grants.end(grant.id, 'model_changed', context)));
}

const TEST_PROMPT = 'Reply with the single word OK.';
/** A connection test is a few tokens; it must not hold an admin's request for a full model timeout. */
const TEST_TIMEOUT_MS = 10_000;
const TEST_MAX_TOKENS = 8;

/**
 * "Test connection": a tiny completion from the model's server, timed. The answer says
 * ok or names the failure in words for people (never the upstream's own error text).
 */
export async function testModelConnection(
  deps: Pick<Deps, 'pool' | 'config'>,
  { id, context }: { id: string; context: AuditContext },
): Promise<ModelTestResult | null> {
  const model = await getModel(deps.pool, id);
  if (!model) return null;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let result: ModelTestResult;
  /** A connection refused by MODEL_HOST_ALLOWLIST: where it would have gone, for the audit record. */
  let refused: HostRefusal | null = null;
  try {
    let reply = '';
    await streamCompletion(model, {
      messages: [{ role: 'user', content: TEST_PROMPT }],
      maxTokens: TEST_MAX_TOKENS,
      signal: new AbortController().signal,
      timeoutMs: Math.min(TEST_TIMEOUT_MS, deps.config.chat.modelTimeoutSeconds * 1000),
      hosts: modelHostGuard(deps.config),
      onText: (text) => (reply += text),
    });
    result = { ok: true, latencyMs: elapsed(), reply: reply.trim().slice(0, 200) };
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    result = { ok: false, latencyMs: elapsed(), code: error.code, message: error.message };
    if (error.cause instanceof ModelHostForbiddenError) refused = error.cause.refusal;
  }
  await recordAuditEvent(deps.pool, context, {
    action: 'model.tested',
    outcome: result.ok ? 'success' : 'failure',
    target: { type: 'model', id },
    model: id,
    details: result.ok ? { latencyMs: result.latencyMs } : { latencyMs: result.latencyMs, code: result.code, ...(refused ? { refused } : {}) },
  });
  return result;
}
