import type { ModelProvider, ModelSettings, ModelTier } from '../../shared/api.ts';
import { query, type Queryable } from './pool.ts';

export interface ModelRow {
  id: string;
  display_name: string;
  description: string;
  provider: ModelProvider;
  base_url: string | null;
  upstream_model: string;
  api_key_env: string | null;
  tier: ModelTier;
  enabled: boolean;
  grant_seconds: number;
  requires_user_verification: boolean;
  max_output_tokens: number;
  updated_at: Date;
}

const COLUMNS = `id, display_name, description, provider, base_url, upstream_model, api_key_env, tier, enabled,
  grant_seconds, requires_user_verification, max_output_tokens, updated_at`;

export async function getEnabledModels(db: Queryable): Promise<ModelRow[]> {
  const { rows } = await query<ModelRow>(db, 'models_enabled', `SELECT ${COLUMNS} FROM model WHERE enabled ORDER BY tier, display_name`);
  return rows;
}

export async function getModel(db: Queryable, id: string): Promise<ModelRow | null> {
  const { rows } = await query<ModelRow>(db, 'model_by_id', `SELECT ${COLUMNS} FROM model WHERE id = $1::text`, [id]);
  return rows[0] ?? null;
}

export async function getAllModels(db: Queryable): Promise<ModelRow[]> {
  const { rows } = await query<ModelRow>(db, 'models_all', `SELECT ${COLUMNS} FROM model ORDER BY tier, id`);
  return rows;
}

export interface NewModel extends ModelSettings {
  id: string;
}

export async function insertModel(db: Queryable, m: NewModel): Promise<ModelRow> {
  const { rows } = await query<ModelRow>(
    db,
    'model_insert',
    `INSERT INTO model (id, display_name, description, provider, base_url, upstream_model, api_key_env, tier, grant_seconds,
       requires_user_verification, max_output_tokens)
     VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::int, $10::boolean, $11::int)
     RETURNING ${COLUMNS}`,
    [m.id, m.displayName, m.description, m.provider, m.baseUrl, m.upstreamModel, m.apiKeyEnv, m.tier, m.grantSeconds, m.requiresUserVerification, m.maxOutputTokens],
  );
  return rows[0]!;
}

export async function setModelEnabled(db: Queryable, id: string, enabled: boolean): Promise<boolean> {
  const { rowCount } = await query(db, 'model_set_enabled', 'UPDATE model SET enabled = $2::boolean, updated_at = now() WHERE id = $1::text', [id, enabled]);
  return (rowCount ?? 0) > 0;
}

/** Locks the row until the transaction ends, so a change reads what it replaces. */
export async function getModelForUpdate(db: Queryable, id: string): Promise<ModelRow | null> {
  const { rows } = await query<ModelRow>(db, 'model_for_update', `SELECT ${COLUMNS} FROM model WHERE id = $1::text FOR UPDATE`, [id]);
  return rows[0] ?? null;
}

/** Writes every setting of a model (the caller merged the change into the current row). */
export async function updateModel(db: Queryable, m: Omit<NewModel, 'id'> & { id: string; enabled: boolean }): Promise<ModelRow> {
  const { rows } = await query<ModelRow>(
    db,
    'model_update',
    `UPDATE model SET display_name = $2::text, description = $3::text, provider = $4::text, base_url = $5::text,
       upstream_model = $6::text, api_key_env = $7::text, tier = $8::text, grant_seconds = $9::int,
       requires_user_verification = $10::boolean, max_output_tokens = $11::int, enabled = $12::boolean, updated_at = now()
     WHERE id = $1::text
     RETURNING ${COLUMNS}`,
    [m.id, m.displayName, m.description, m.provider, m.baseUrl, m.upstreamModel, m.apiKeyEnv, m.tier, m.grantSeconds, m.requiresUserVerification, m.maxOutputTokens, m.enabled],
  );
  return rows[0]!;
}

export async function countEnabledModels(db: Queryable): Promise<number> {
  const { rows } = await query<{ n: number }>(db, 'models_enabled_count', 'SELECT count(*)::int AS n FROM model WHERE enabled');
  return rows[0]?.n ?? 0;
}
