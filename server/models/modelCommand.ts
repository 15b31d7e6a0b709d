import { MODEL_PROVIDERS } from '../../shared/api.ts';
import { getAllModels, insertModel, setModelEnabled } from '../db/models.ts';
import { PG_UNIQUE_VIOLATION, pgErrorCode, type Pool } from '../db/pool.ts';
import { modelHostGuard, type ModelHostAllowlist } from './modelHosts.ts';
import { NewModelSchema } from './modelSettings.ts';
import { MODEL_PROVIDER_REGISTRY } from './providers.ts';

/** Wide enough for the longest provider name, so `model list` keeps its columns. */
const PROVIDER_WIDTH = Math.max(...MODEL_PROVIDERS.map((provider) => provider.length));

export const MODEL_USAGE = `  model list                              list the model catalog
  model add <id> --name "Name" [--provider ${MODEL_PROVIDERS.join('|')}] [--base-url URL] [--upstream NAME]
            [--key-env ENV_VAR] [--tier standard|restricted] [--grant-seconds N]
            [--max-tokens N] [--require-uv] [--description TEXT]
                                          add a model (the API key itself stays in ENV_VAR)
${MODEL_PROVIDERS.map((provider) => `            --provider ${provider.padEnd(PROVIDER_WIDTH)}  ${MODEL_PROVIDER_REGISTRY[provider].summary}`).join('\n')}
  model enable|disable <id>               turn a model on or off`;

/** CLI flags to the fields of NewModelSchema (the admin API's validation), and back for messages. */
const FLAGS = {
  displayName: 'name',
  description: 'description',
  provider: 'provider',
  baseUrl: 'base-url',
  upstreamModel: 'upstream',
  apiKeyEnv: 'key-env',
  tier: 'tier',
  grantSeconds: 'grant-seconds',
  maxOutputTokens: 'max-tokens',
  requiresUserVerification: 'require-uv',
} as const;
const NUMBER_FIELDS = new Set(['grantSeconds', 'maxOutputTokens']);

function fromFlags(id: string | undefined, values: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const input: Record<string, unknown> = { id, displayName: values.name ?? '' };
  for (const [field, flag] of Object.entries(FLAGS)) {
    const value = values[flag];
    if (value === undefined || field === 'displayName') continue;
    input[field] = NUMBER_FIELDS.has(field) && typeof value === 'string' ? Number(value) : value;
  }
  return input;
}

/** `npm run argus -- model …`: the catalog from the command line (the admin console adds a UI). */
export async function modelCommand(
  pool: Pool,
  [sub, id]: string[],
  values: Record<string, string | boolean | undefined>,
  config: { modelHostAllowlist: ModelHostAllowlist },
): Promise<number> {
  switch (sub) {
    case 'list': {
      for (const m of await getAllModels(pool)) {
        console.log(`${m.enabled ? ' ' : '-'} ${m.id.padEnd(24)} ${m.tier.padEnd(10)} ${m.provider.padEnd(PROVIDER_WIDTH)} ${m.display_name}${m.base_url ? `  (${m.base_url}, ${m.upstream_model})` : ''}`);
      }
      return 0;
    }
    case 'add': {
      const parsed = NewModelSchema.safeParse(fromFlags(id, values));
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          const field = String(issue.path[0] ?? 'id');
          console.error(`  ${field === 'id' ? 'id' : `--${FLAGS[field as keyof typeof FLAGS] ?? field}`}: ${issue.message}`);
        }
        return 2;
      }
      const o = parsed.data;
      // The same early refusal as the admin API: connections are checked again when made.
      const verdict = o.baseUrl ? await modelHostGuard(config).checkBaseUrl(o.baseUrl) : { allowed: true as const };
      if (!verdict.allowed) {
        console.error(`  --base-url: ${verdict.host} is inside Argus's network (${verdict.range}); add it to MODEL_HOST_ALLOWLIST to allow it.`);
        return 2;
      }
      try {
        const model = await insertModel(pool, o);
        console.log(`Added ${model.tier} model "${model.display_name}" (${model.id}).`);
        return 0;
      } catch (error) {
        // 23505 unique violation: the id is taken.
        if (pgErrorCode(error) === PG_UNIQUE_VIOLATION) {
          console.error(`A model with id "${o.id}" exists already.`);
          return 1;
        }
        throw error;
      }
    }
    case 'enable':
    case 'disable': {
      if (!id || !(await setModelEnabled(pool, id, sub === 'enable'))) {
        console.error(`No model "${id ?? ''}".`);
        return 1;
      }
      console.log(`Model ${id} ${sub}d.`);
      return 0;
    }
    default:
      console.error(`Unknown model command.\n${MODEL_USAGE}`);
      return 2;
  }
}
