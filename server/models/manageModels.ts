import type { ModelTestResult } from '../../shared/api.ts';
import type { Severity } from '../../shared/audit.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { getModel, getModelForUpdate, insertModel, updateModel, type ModelRow } from '../db/models.ts';
import { PG_UNIQUE_VIOLATION, pgErrorCode, withTransaction } from '../db/pool.ts';
import type { Deps } from '../deps.ts';
import { modelRuleIssues, type ModelChange, type NewModelInput } from './modelSettings.ts';
import { modelSettingsOf } from './modelViews.ts';
import { ProviderError, streamCompletion } from './providers.ts';

export type AddModelResult = { added: true; model: ModelRow } | { added: false; reason: 'exists' };

/** Adds a model to the catalog (settings already validated by NewModelSchema), audited with it. */
export async function addModel(deps: Pick<Deps, 'pool'>, { model, context }: { model: NewModelInput; context: AuditContext }): Promise<AddModelResult> {
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
  | { changed: false; reason: 'invalid'; issues: Array<{ path: string; message: string }> };

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
  deps: Pick<Deps, 'pool' | 'grants'>,
  { id, change, context }: { id: string; change: ModelChange; context: AuditContext },
): Promise<ChangeModelResult> {
  const result = await updateModelRow(deps, { id, change, context });
  if (result.changed && tightensGrants(result.before, result.model)) {
    const covering = (await deps.grants.listLive(10_000)).filter((grant) => grant.models.includes(id));
    await Promise.all(covering.map((grant) => deps.grants.end(grant.id, 'model_changed', context)));
  }
  return result.changed ? { changed: true, model: result.model } : result;
}

async function updateModelRow(
  deps: Pick<Deps, 'pool'>,
  { id, change, context }: { id: string; change: ModelChange; context: AuditContext },
): Promise<Exclude<ChangeModelResult, { changed: true }> | { changed: true; model: ModelRow; before: ModelRow }> {
  return withTransaction(deps.pool, async (client) => {
    const before = await getModelForUpdate(client, id);
    if (!before) return { changed: false as const, reason: 'not_found' as const };
    const current = modelSettingsOf(before);
    const merged = { ...current, ...change };
    const issues = modelRuleIssues(merged);
    if (issues.length > 0) return { changed: false as const, reason: 'invalid' as const, issues };
    const changes = Object.fromEntries(
      (Object.keys(change) as Array<keyof typeof current>)
        .filter((field) => merged[field] !== current[field])
        .map((field) => [field, { from: current[field], to: merged[field] }]),
    );
    const fields = Object.keys(changes);
    if (fields.length === 0) return { changed: false as const, reason: 'no_change' as const };
    const after = await updateModel(client, { id, ...merged });
    const onlyEnabled = fields.length === 1 && fields[0] === 'enabled';
    await recordAuditEvent(client, context, {
      action: onlyEnabled ? (after.enabled ? 'model.enabled' : 'model.disabled') : 'model.changed',
      outcome: 'success',
      severity: changeSeverity(before, after),
      target: { type: 'model', id },
      model: id,
      details: { changes },
    });
    return { changed: true as const, model: after, before };
  });
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
  try {
    let reply = '';
    await streamCompletion(model, {
      messages: [{ role: 'user', content: TEST_PROMPT }],
      maxTokens: TEST_MAX_TOKENS,
      signal: new AbortController().signal,
      timeoutMs: Math.min(TEST_TIMEOUT_MS, deps.config.chat.modelTimeoutSeconds * 1000),
      onText: (text) => (reply += text),
    });
    result = { ok: true, latencyMs: elapsed(), reply: reply.trim().slice(0, 200) };
  } catch (error) {
    if (!(error instanceof ProviderError)) throw error;
    result = { ok: false, latencyMs: elapsed(), code: error.code, message: error.message };
  }
  await recordAuditEvent(deps.pool, context, {
    action: 'model.tested',
    outcome: result.ok ? 'success' : 'failure',
    target: { type: 'model', id },
    model: id,
    details: result.ok ? { latencyMs: result.latencyMs } : { latencyMs: result.latencyMs, code: result.code },
  });
  return result;
}
