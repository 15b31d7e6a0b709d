import { Show, type Component } from 'solid-js';
import { MODEL_PROVIDERS, MODEL_TIERS, type AdminModelView, type ModelSettings } from '../../../../shared/api.ts';
import { Field, Select } from '../../../components/Field.tsx';
import { MODEL_PROVIDER_VIEWS } from './modelProviderViews.ts';

const TIER_LABELS: Record<(typeof MODEL_TIERS)[number], string> = {
  standard: 'Standard — any signed-in user',
  restricted: 'Restricted — unlocked by a key touch',
};

const PROVIDER_LABELS = Object.fromEntries(MODEL_PROVIDERS.map((provider) => [provider, MODEL_PROVIDER_VIEWS[provider].label]));

/** What the form holds: every setting, and the id for a new model. */

/** As a JS string: the browser compiles `pattern` with the v flag, where a literal `-` in a class must be escaped. */
const MODEL_ID_PATTERN = '[a-z0-9][a-z0-9._\\-]{0,63}';
export type ModelFormValues = ModelSettings & { id: string };

function text(fields: FormData, name: string): string {
  return String(fields.get(name) ?? '').trim();
}

/** The form's fields as settings: blank optional fields are null, numbers are numbers. */
export function readModelForm(form: HTMLFormElement): ModelFormValues {
  const fields = new FormData(form);
  return {
    id: text(fields, 'id'),
    displayName: text(fields, 'displayName'),
    description: text(fields, 'description'),
    provider: MODEL_PROVIDERS.find((p) => p === fields.get('provider')) ?? 'openai',
    baseUrl: text(fields, 'baseUrl') || null,
    upstreamModel: text(fields, 'upstreamModel'),
    apiKeyEnv: text(fields, 'apiKeyEnv') || null,
    tier: MODEL_TIERS.find((t) => t === fields.get('tier')) ?? 'standard',
    grantSeconds: Number(text(fields, 'grantSeconds')),
    requiresUserVerification: fields.get('requiresUserVerification') === 'on',
    maxOutputTokens: Number(text(fields, 'maxOutputTokens')),
  };
}

/**
 * Every setting of a model. The server checks them (the same rules as the CLI); the browser
 * only helps with types and ranges. The API key itself is never asked for: only the name of
 * the server's environment variable that holds it.
 */
export const ModelFields: Component<{ model?: AdminModelView }> = (props) => (
  <>
    <Show when={!props.model}>
      <Field label="Model id" hint="Lower-case letters, digits, dot, dash, underscore. Cannot change later.">
        {(control) => <input {...control} name="id" required pattern={MODEL_ID_PATTERN} autocomplete="off" spellcheck={false} />}
      </Field>
    </Show>
    <Field label="Display name">
      {(control) => <input {...control} name="displayName" required maxLength={100} value={props.model?.displayName ?? ''} autocomplete="off" />}
    </Field>
    <Field label="Provider">
      {(control) => <Select control={control} name="provider" values={MODEL_PROVIDERS} labels={PROVIDER_LABELS} selected={props.model?.provider ?? 'openai'} />}
    </Field>
    <Field label="Base URL" hint="e.g. http://127.0.0.1:11434/v1 (required for an OpenAI-compatible server)">
      {(control) => <input {...control} name="baseUrl" type="url" maxLength={500} value={props.model?.baseUrl ?? ''} autocomplete="off" spellcheck={false} />}
    </Field>
    <Field label="Upstream model name" hint={props.model ? undefined : 'Defaults to the model id'}>
      {(control) => <input {...control} name="upstreamModel" maxLength={200} value={props.model?.upstreamModel ?? ''} autocomplete="off" spellcheck={false} />}
    </Field>
    <Field label="API key variable" hint="Name of the server's environment variable holding the key (ending in _KEY or _TOKEN) — never the key itself">
      {(control) => (
        <input {...control} name="apiKeyEnv" pattern="[A-Z_][A-Z0-9_]{0,58}_(KEY|TOKEN)" value={props.model?.apiKeyEnv ?? ''} autocomplete="off" spellcheck={false} placeholder="OPENAI_API_KEY" />
      )}
    </Field>
    <Field label="Tier">
      {(control) => <Select control={control} name="tier" values={MODEL_TIERS} labels={TIER_LABELS} selected={props.model?.tier ?? 'standard'} />}
    </Field>
    <Field label="Grant lifetime (seconds)" hint="30–3600; how long one key touch unlocks a restricted model">
      {(control) => <input {...control} name="grantSeconds" type="number" min={30} max={3600} required value={props.model?.grantSeconds ?? 300} />}
    </Field>
    <Field label="Max output tokens">
      {(control) => <input {...control} name="maxOutputTokens" type="number" min={1} max={131072} required value={props.model?.maxOutputTokens ?? 1024} />}
    </Field>
    <div class="check">
      <input id={`uv-${props.model?.id ?? 'new'}`} name="requiresUserVerification" type="checkbox" checked={props.model?.requiresUserVerification ?? false} />
      <label for={`uv-${props.model?.id ?? 'new'}`}>Require user verification (PIN or fingerprint) to unlock</label>
    </div>
    <Field label="Description" class="wide">
      {(control) => <textarea {...control} name="description" maxLength={1000} rows={2} value={props.model?.description ?? ''} />}
    </Field>
  </>
);
