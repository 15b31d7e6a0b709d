/**
 * Chat streams: the answer arrives as Server-Sent Events, read with fetch because
 * EventSource cannot POST. Refusals before the stream starts are ordinary ApiErrors.
 * POST /api/chat/stream is the stateless one; conversations (api/conversations.ts) use the same reader.
 */
import type { ChatStreamRequest } from '../../shared/api.ts';
import type { ChatStreamEvent } from '../../shared/events.ts';
import { createSseParser } from '../lib/sse.ts';
import { ApiError, openStream } from './http.ts';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** One `data:` payload as a ChatStreamEvent, or undefined for anything this page does not know. */
export function parseChatStreamEvent(data: string): ChatStreamEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  switch (value.type) {
    case 'start':
      return typeof value.assistantMessageId === 'string'
        ? {
            type: 'start',
            userMessageId: typeof value.userMessageId === 'string' ? value.userMessageId : null,
            assistantMessageId: value.assistantMessageId,
          }
        : undefined;
    case 'delta':
      return typeof value.text === 'string' ? { type: 'delta', text: value.text } : undefined;
    case 'done':
      return { type: 'done', finishReason: value.finishReason === 'length' ? 'length' : 'stop' };
    case 'cut':
      return typeof value.reason === 'string' ? ({ type: 'cut', reason: value.reason } as ChatStreamEvent) : undefined;
    case 'error':
      return {
        type: 'error',
        code: typeof value.code === 'string' ? value.code : 'INTERNAL',
        message: typeof value.message === 'string' ? value.message : 'The model could not answer.',
      };
    default:
      return undefined;
  }
}

/** POST /api/chat/stream, the whole history in the request; see readChatStream. */
export function streamChat(
  body: ChatStreamRequest,
  signal: AbortSignal,
  onEvent: (event: ChatStreamEvent) => void,
): Promise<void> {
  return readChatStream('/api/chat/stream', body, signal, onEvent);
}

/**
 * POSTs `body` to `path` and streams the model's answer to `onEvent`; resolves when the
 * stream ends, the last event saying how (done, cut or error). Aborting `signal` stops it
 * and rejects with the abort reason.
 */
export async function readChatStream(
  path: string,
  body: unknown,
  signal: AbortSignal,
  onEvent: (event: ChatStreamEvent) => void,
): Promise<void> {
  const stream = await openStream(path, body, signal);
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const parser = createSseParser((data) => {
    const event = parseChatStreamEvent(data);
    if (event) onEvent(event);
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
    parser.push(decoder.decode());
    parser.end();
  } catch (cause) {
    if (signal.aborted) throw cause;
    throw new ApiError({
      code: 'SERVICE_UNAVAILABLE',
      status: 0,
      message: 'The connection dropped before the answer was finished.',
      cause,
    });
  } finally {
    reader.releaseLock();
  }
}
