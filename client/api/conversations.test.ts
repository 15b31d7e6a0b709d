import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChatStreamEvent } from '../../shared/events.ts';
import { fetchConversation, startConversation, streamMessage, streamRetry } from './conversations.ts';

// The router's query() and action() need a browser; these tests are about the requests underneath.
vi.mock('@solidjs/router', () => ({
  query: <T>(fn: T) => Object.assign(fn as object, { key: 'query' }),
  action: <T>(fn: T) => fn,
  json: <T>(value: T) => value,
}));

function streaming(body: string) {
  vi.stubGlobal(
    'fetch',
    vi.fn(async () => new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } })),
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('conversation streams', () => {
  it('posts a message to its conversation and reads start, deltas and the end', async () => {
    streaming(
      'data: {"type":"start","userMessageId":"u1","assistantMessageId":"a1"}\n\n' +
        'data: {"type":"delta","text":"Hi"}\n\n' +
        'data: {"type":"error","code":"MODEL_UNREACHABLE","message":"The model server cannot be reached"}\n\n',
    );
    const events: ChatStreamEvent[] = [];
    await streamMessage('c/1', { content: 'Hello', model: 'demo' }, new AbortController().signal, (event) =>
      events.push(event),
    );
    const [path, init] = vi.mocked(fetch).mock.calls[0]!;
    // The id is a path segment, whatever it holds.
    expect(path).toBe('/api/conversations/c%2F1/messages');
    expect(init).toMatchObject({ method: 'POST', body: JSON.stringify({ content: 'Hello', model: 'demo' }) });
    expect(events).toEqual([
      { type: 'start', userMessageId: 'u1', assistantMessageId: 'a1' },
      { type: 'delta', text: 'Hi' },
      { type: 'error', code: 'MODEL_UNREACHABLE', message: 'The model server cannot be reached' },
    ]);
  });

  it('retries at /retry', async () => {
    streaming('data: {"type":"done","finishReason":"stop"}\n\n');
    await streamRetry('c1', { model: 'demo' }, new AbortController().signal, () => undefined);
    expect(vi.mocked(fetch).mock.calls[0]![0]).toBe('/api/conversations/c1/retry');
  });

  it('throws a refusal before the stream (too many streams) with its code and words', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        Response.json({ error: { code: 'TOO_MANY_STREAMS', message: 'Wait for an answer to finish.' } }, { status: 429 }),
      ),
    );
    await expect(
      streamMessage('c1', { content: 'Hello', model: 'demo' }, new AbortController().signal, () => undefined),
    ).rejects.toMatchObject({ name: 'ApiError', code: 'TOO_MANY_STREAMS', status: 429, message: 'Wait for an answer to finish.' });
  });
});

describe('conversation reads and writes', () => {
  it('creates with the model and unwraps the conversation', async () => {
    const conversation = { id: 'c1', title: 'New conversation', model: 'demo', createdAt: '', updatedAt: '' };
    vi.stubGlobal('fetch', vi.fn(async () => Response.json({ conversation }, { status: 201 })));
    expect(await startConversation({ model: 'demo' })).toEqual(conversation);
    expect(vi.mocked(fetch).mock.calls[0]![1]).toMatchObject({ method: 'POST', body: '{"model":"demo"}' });
  });

  it('answers NOT_FOUND for a conversation that is not there (or not yours)', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => Response.json({ error: { code: 'NOT_FOUND', message: 'Not found.' } }, { status: 404 })),
    );
    await expect(fetchConversation('c1')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });
});
