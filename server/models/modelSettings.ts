import { z } from 'zod';
import { MODEL_PROVIDERS, MODEL_TIERS } from '../../shared/api.ts';
import { CONFIG_VARIABLES } from '../config.ts';
import { MODEL_PROVIDER_REGISTRY, type SettingsIssue } from './providers.ts';

/** Prefixes of Argus's own configuration: a model's key variable may not start with one. */
const ARGUS_SETTING_PREFIXES = ['ARGUS_', 'AUDIT_', 'SESSION_', 'METRICS_', 'REDIS_', 'DATABASE_', 'DETECTOR_', 'EMBEDDED_', 'WEBAUTHN_'];

function isArgusSetting(name: string): boolean {
  return CONFIG_VARIABLES.includes(name) || ARGUS_SETTING_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/**
 * The one definition of what a model in the catalog may look like, used by the admin API
 * and by the `model` CLI command; the rules of each provider come from its entry in the
 * registry (providers.ts). The database CHECKs (sql/000003_models.sql) say the same and stay
 * the last line of defence.
 */
export const ModelId = z.string().max(64).regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, . _ - (up to 64)');

/** Every setting, with no defaults: a change names only what it changes. */
export const MODEL_SETTING_FIELDS = {
  displayName: z.string().trim().min(1, 'give a name').max(100),
  description: z.string().trim().max(1000),
  provider: z.enum(MODEL_PROVIDERS),
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'an http:// or https:// URL' })
    .max(500)
    // Credentials go in the key variable: a URL is shown to admins and written to the audit log.
    .refine((url) => !/^https?:\/\/[^/?#]*@/i.test(url), 'no user name or password in the URL; name a key variable instead')
    .nullable(),
  upstreamModel: z.string().trim().max(200),
  apiKeyEnv: z
    .string()
    .max(64)
    .regex(/^[A-Z_][A-Z0-9_]{0,63}$/, 'an environment variable name, e.g. OPENAI_API_KEY')
    // The server sends this variable's value to the model's base URL. Naming only *_KEY or
    // *_TOKEN variables keeps Argus's own secrets (SESSION_SECRET, DATABASE_URL…) off the wire.
    .regex(/_(KEY|TOKEN)$/, 'the name of a variable ending in _KEY or _TOKEN, e.g. OPENAI_API_KEY')
    // …and never one of Argus's own settings, present or future (AUDIT_SIGNING_KEY, METRICS_TOKEN…).
    .refine((name) => !isArgusSetting(name), "one of Argus's own settings cannot be a model's API key")
    .nullable(),
  tier: z.enum(MODEL_TIERS),
  grantSeconds: z.number().int().min(30).max(3600),
  requiresUserVerification: z.boolean(),
  maxOutputTokens: z.number().int().min(1).max(131072),
};

export type ModelSettingsInput = { [K in keyof typeof MODEL_SETTING_FIELDS]: z.output<(typeof MODEL_SETTING_FIELDS)[K]> };

/** Rules that span fields, checked on the whole model (a new one, or an old one after a change): its provider's. */
export function modelRuleIssues(model: Pick<ModelSettingsInput, 'provider' | 'baseUrl' | 'apiKeyEnv'>): SettingsIssue[] {
  return MODEL_PROVIDER_REGISTRY[model.provider].settingsIssues(model);
}

/** A new model: what is left out gets the same defaults as the CLI. `upstreamModel` defaults to the id. */
export const NewModelSchema = z
  .strictObject({
    id: ModelId,
    displayName: MODEL_SETTING_FIELDS.displayName,
    description: MODEL_SETTING_FIELDS.description.default(''),
    provider: MODEL_SETTING_FIELDS.provider.default('openai'),
    baseUrl: MODEL_SETTING_FIELDS.baseUrl.default(null),
    upstreamModel: MODEL_SETTING_FIELDS.upstreamModel.optional(),
    apiKeyEnv: MODEL_SETTING_FIELDS.apiKeyEnv.default(null),
    tier: MODEL_SETTING_FIELDS.tier.default('standard'),
    grantSeconds: MODEL_SETTING_FIELDS.grantSeconds.default(300),
    requiresUserVerification: MODEL_SETTING_FIELDS.requiresUserVerification.default(false),
    maxOutputTokens: MODEL_SETTING_FIELDS.maxOutputTokens.default(1024),
  })
  .superRefine((model, ctx) => {
    for (const issue of modelRuleIssues(model)) ctx.addIssue({ code: 'custom', path: [issue.path], message: issue.message });
  })
  .transform((model) => ({ ...model, upstreamModel: model.upstreamModel || model.id }));

export type NewModelInput = z.output<typeof NewModelSchema>;

/** A change to an existing model: any settings, and whether it is enabled. At least one. */
export const ModelChangeSchema = z
  .strictObject({ ...MODEL_SETTING_FIELDS, enabled: z.boolean() })
  .partial()
  .refine((change) => Object.keys(change).length > 0, 'Give at least one setting to change.');

export type ModelChange = z.output<typeof ModelChangeSchema>;
