import type { ModelProvider } from '../../../../shared/api.ts';
import type { BadgeProps } from '../../../components/Badge.tsx';

/** How the model catalog shows a provider. */
export interface ModelProviderView {
  /** Its name in the form's provider list. */
  label: string;
  /**
   * What the Upstream column shows: a flag badge for a provider with no server to name,
   * or null for the upstream model name and the base URL.
   */
  badge: Extract<BadgeProps, { kind: 'flag' }>['value'] | null;
}

/** Every provider of shared MODEL_PROVIDERS: a provider without its view here is a type error. */
export const MODEL_PROVIDER_VIEWS = {
  openai: { label: 'OpenAI-compatible server', badge: null },
  demo: { label: 'Built-in demo (offline)', badge: 'demo' },
} as const satisfies Record<ModelProvider, ModelProviderView>;
