import { z } from 'zod';
import { getAllModels, insertModel, setModelEnabled } from '../db/models.ts';
import { PG_UNIQUE_VIOLATION, pgErrorCode, type Pool } from '../db/pool.ts';

export const MODEL_USAGE = `  model list                              list the model catalog
  model add <id> --name "Name" [--provider openai|demo] [--base-url URL] [--upstream NAME]
            [--key-env ENV_VAR] [--tier standard|restricted] [--grant-seconds N]
            [--max-tokens N] [--require-uv] [--description TEXT]
                                          add a model (the API key itself stays in ENV_VAR)
  model enable|disable <id>               turn a model on or off`;

const AddOptions = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, . _ - (up to 64)'),
    name: z.string().min(1, 'give --name').max(100),
    provider: z.enum(['openai', 'demo']).default('openai'),
    'base-url': z.url({ protocol: /^https?$/ }).optional(),
    upstream: z.string().max(200).optional(),
    'key-env': z.string().regex(/^[A-Z_][A-Z0-9_]{0,63}$/, 'an environment variable name, e.g. OPENAI_API_KEY').optional(),
    tier: z.enum(['standard', 'restricted']).default('standard'),
    'grant-seconds': z.coerce.number().int().min(30).max(3600).default(300),
    'max-tokens': z.coerce.number().int().min(1).max(131072).default(1024),
    'require-uv': z.boolean().default(false),
    description: z.string().max(1000).default(''),
  })
  .refine((o) => o.provider === 'demo' || o['base-url'], { message: '--base-url is required for an openai provider', path: ['base-url'] });

/** `npm run argus -- model …`: the catalog from the command line (the admin console adds a UI). */
export async function modelCommand(pool: Pool, [sub, id]: string[], values: Record<string, string | boolean | undefined>): Promise<number> {
  switch (sub) {
    case 'list': {
      for (const m of await getAllModels(pool)) {
        console.log(`${m.enabled ? ' ' : '-'} ${m.id.padEnd(24)} ${m.tier.padEnd(10)} ${m.provider.padEnd(7)} ${m.display_name}${m.base_url ? `  (${m.base_url}, ${m.upstream_model})` : ''}`);
      }
      return 0;
    }
    case 'add': {
      const parsed = AddOptions.safeParse({ ...values, id });
      if (!parsed.success) {
        for (const issue of parsed.error.issues) console.error(`  --${issue.path.join('.') || 'id'}: ${issue.message}`);
        return 2;
      }
      const o = parsed.data;
      try {
        const model = await insertModel(pool, {
          id: o.id,
          displayName: o.name,
          description: o.description,
          provider: o.provider,
          baseUrl: o['base-url'] ?? null,
          upstreamModel: o.upstream ?? o.id,
          apiKeyEnv: o['key-env'] ?? null,
          tier: o.tier,
          grantSeconds: o['grant-seconds'],
          requiresUserVerification: o['require-uv'],
          maxOutputTokens: o['max-tokens'],
        });
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
