import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChatStreamEvent } from '../../shared/events.ts';
import type { ConversationView } from '../../shared/api.ts';
import { fetchConversation, listConversations, startConversation, streamMessage, streamRetry } from './conversations.ts';

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

  it('reads a readable conversation with its messages, never from the HTTP cache', async () => {
    const conversation = { id: 'c1', title: 'Hello', model: 'demo', createdAt: '', updatedAt: '', restricted: false, restrictedModels: [], locked: false };
    vi.stubGlobal('fetch', vi.fn(async () => Response.json({ conversation, messages: [] })));
    expect(await fetchConversation('c1')).toEqual({ locked: false, conversation, messages: [] });
    expect(vi.mocked(fetch).mock.calls[0]![1]).toMatchObject({ method: 'GET', cache: 'no-store' });
  });
});

describe('restricted conversations without a grant', () => {
  const metadata: ConversationView = {
    id: 'c1',
    title: null,
    model: 'demo-restricted',
    createdAt: '2026-12-06T10:00:00Z',
    updatedAt: '2026-12-06T10:00:00Z',
    restricted: true,
    restrictedModels: ['demo-restricted'],
    locked: true,
  };

  it('reads 403 GRANT_REQUIRED as the locked metadata it carries', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        Response.json({ error: { code: 'GRANT_REQUIRED', message: 'Unlock to read.', conversation: metadata } }, { status: 403 }),
      ),
    );
    expect(await fetchConversation('c1')).toEqual({ locked: true, conversation: metadata });
  });

  it('shows no title even if a locked answer carried one', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Response.json({ conversation: { ...metadata, title: 'Leaked' }, messages: [] })));
    const read = await fetchConversation('c1');
    expect(read).toEqual({ locked: true, conversation: metadata });
    expect(JSON.stringify(read)).not.toContain('Leaked');
  });

  it('still fails with other refusals', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => Response.json({ error: { code: 'FORBIDDEN', message: 'No.' } }, { status: 403 })),
    );
    await expect(fetchConversation('c1')).rejects.toMatchObject({ code: 'FORBIDDEN', status: 403 });
  });

  it('lists conversations without the HTTP cache', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Response.json({ conversations: [metadata], nextCursor: null })));
    expect((await listConversations(null)).conversations[0]!.title).toBeNull();
    expect(vi.mocked(fetch).mock.calls[0]).toEqual(['/api/conversations?limit=30', expect.objectContaining({ cache: 'no-store' })]);
  });
});
