/** The public encoders of a model row: what a chat user and what an admin may see of it. */
import type { AdminModelView, ModelSettings, ModelView } from '../../shared/api.ts';
import type { ModelRow } from '../db/models.ts';
import type { Grant } from '../grants/grants.ts';

/** A model as the chat screen sees it: no upstream URL or key variable, and whether this session's grant covers it. */
export function toModelView(model: ModelRow, grant: Grant | null): ModelView {
  return {
    id: model.id,
    displayName: model.display_name,
    description: model.description,
    tier: model.tier,
    demo: model.provider === 'demo',
    unlocked: model.tier === 'standard' || (grant?.models.includes(model.id) ?? false),
    requiresUserVerification: model.requires_user_verification,
    grantSeconds: model.grant_seconds,
  };
}

/** A model's settings and whether it is enabled: what an admin changes, and what the audit log records of a change. */
export function modelSettingsOf(model: ModelRow): ModelSettings & { enabled: boolean } {
  return {
    displayName: model.display_name,
    description: model.description,
    provider: model.provider,
    baseUrl: model.base_url,
    upstreamModel: model.upstream_model,
    apiKeyEnv: model.api_key_env,
    tier: model.tier,
    grantSeconds: model.grant_seconds,
    requiresUserVerification: model.requires_user_verification,
    maxOutputTokens: model.max_output_tokens,
    enabled: model.enabled,
  };
}

/** What an admin sees of a model: its settings and whether its key variable is set, never the key. */
export function toAdminModelView(model: ModelRow): AdminModelView {
  return {
    id: model.id,
    ...modelSettingsOf(model),
    apiKeyConfigured: model.api_key_env ? Boolean(process.env[model.api_key_env]) : false,
    updatedAt: model.updated_at.toISOString(),
  };
}
