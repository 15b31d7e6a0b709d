import type { ChatMessage } from '../../shared/api.ts';
import type { ModelHostGuard } from './modelHosts.ts';

/**
 * What every provider takes and gives back. Its own module, so that the registry
 * (providers.ts) imports the providers and no provider imports the registry.
 */

/** What can go wrong with a model server, each a stable code with a message for people. */
export type ProviderErrorCode =
  | 'MODEL_UNREACHABLE'
  | 'MODEL_ERROR'
  | 'MODEL_TIMEOUT'
  | 'MODEL_BAD_RESPONSE'
  /** The server's address is inside Argus's network and MODEL_HOST_ALLOWLIST does not name it (G8). */
  | 'MODEL_HOST_FORBIDDEN'
  /** The server answered with a redirect, which is never followed (it could point inside). */
  | 'MODEL_REDIRECT_REFUSED';

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
  /**
   * Where model servers may be: every connection goes through this guard's agents, which
   * refuse addresses inside Argus's network at connect time (modelHosts.ts).
   */
  hosts: ModelHostGuard;
  /** Takes each piece of the answer's text as it arrives, before the answer has ended. */
  onText: (text: string) => void;
}
