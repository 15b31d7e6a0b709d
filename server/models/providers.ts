import type { ModelProvider } from '../../shared/api.ts';
import type { ModelRow } from '../db/models.ts';
import type { Completion, CompletionRequest } from './completion.ts';
import { streamDemo } from './demoProvider.ts';
import { streamOpenAI } from './openaiProvider.ts';

export { ProviderError, type Completion, type CompletionRequest, type ProviderErrorCode, type Usage } from './completion.ts';

/** The settings a provider may have rules about (a new model's, or an old one's after a change). */
export interface ProviderSettings {
  baseUrl: string | null;
  apiKeyEnv: string | null;
}

/** A setting at fault, and what an admin (API, console or CLI) reads about it. */
export interface SettingsIssue {
  path: keyof ProviderSettings;
  message: string;
}

/** Everything Argus knows about one kind of model server. */
export interface ModelProviderDefinition {
  /** What the CLI's usage says the provider is. */
  summary: string;
  /** Rules only this provider has, checked on the whole model after defaults or a change. */
  settingsIssues(settings: ProviderSettings): SettingsIssue[];
  /** Streams a completion: see streamCompletion. */
  stream(model: ModelRow, request: CompletionRequest): Promise<Completion>;
}

/**
 * Every provider of shared MODEL_PROVIDERS, and nothing else: one without an entry here is a
 * type error. The settings schema, the CLI and the chat read providers only from here; the
 * browser has its own record of labels (client/pages/admin/models/modelProviderViews.ts) and
 * the database its CHECK (providerConstraint.test.ts keeps it in step).
 */
export const MODEL_PROVIDER_REGISTRY = {
  openai: {
    summary: 'an OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp…); needs --base-url',
    // An OpenAI-compatible model is nothing without the server to send requests to.
    settingsIssues: ({ baseUrl }) => (baseUrl ? [] : [{ path: 'baseUrl', message: 'a base URL is required for an openai provider' }]),
    stream: streamOpenAI,
  },
  demo: {
    summary: 'the built-in offline demo: canned replies, no server',
    settingsIssues: () => [],
    stream: (model, request) => streamDemo(model.display_name, request),
  },
} satisfies Record<ModelProvider, ModelProviderDefinition>;

/**
 * Streams a completion from the model's provider: text goes to `request.onText` as it arrives,
 * and the promise says how the answer ended (or rejects with a ProviderError, after the text
 * that came before the failure). Model calls never run in the browser.
 */
export function streamCompletion(model: ModelRow, request: CompletionRequest): Promise<Completion> {
  return MODEL_PROVIDER_REGISTRY[model.provider].stream(model, request);
}
