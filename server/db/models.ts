import type { ModelTier } from '../../shared/api.ts';
import { query, type Queryable } from './pool.ts';

export interface ModelRow {
  id: string;
  display_name: string;
  description: string;
  provider: 'demo' | 'openai';
  base_url: string | null;
  upstream_model: string;
  api_key_env: string | null;
  tier: ModelTier;
  enabled: boolean;
  grant_seconds: number;
  requires_user_verification: boolean;
  max_output_tokens: number;
}

const COLUMNS = `id, display_name, description, provider, base_url, upstream_model, api_key_env, tier, enabled,
  grant_seconds, requires_user_verification, max_output_tokens`;

export async function getEnabledModels(db: Queryable): Promise<ModelRow[]> {
  const { rows } = await query<ModelRow>(db, 'models_enabled', `SELECT ${COLUMNS} FROM model WHERE enabled ORDER BY tier, display_name`);
  return rows;
}

export async function getModel(db: Queryable, id: string): Promise<ModelRow | null> {
  const { rows } = await query<ModelRow>(db, 'model_by_id', `SELECT ${COLUMNS} FROM model WHERE id = $1::text`, [id]);
  return rows[0] ?? null;
}
