import type { ChatMessage } from '../../shared/api.ts';

/**
 * What every provider takes and gives back. Its own module, so that the registry
 * (providers.ts) imports the providers and no provider imports the registry.
 */

/** What can go wrong with a model server, each a stable code with a message for people. */
export type ProviderErrorCode = 'MODEL_UNREACHABLE' | 'MODEL_ERROR' | 'MODEL_TIMEOUT' | 'MODEL_BAD_RESPONSE';

export class ProviderError extends Error {
  override name = 'ProviderError';
  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export interface Completion {
  finishReason: 'stop' | 'length';
  usage: Usage | null;
}

export interface CompletionRequest {
  messages: ChatMessage[];
  maxTokens: number;
  /** Aborted when the client stops, the grant ends, or the server shuts down: the upstream call is cancelled. */
  signal: AbortSignal;
  /** Longest wait for the upstream's first byte, and between two chunks. */
  timeoutMs: number;
  /** Takes each piece of the answer's text as it arrives, before the answer has ended. */
  onText: (text: string) => void;
}
