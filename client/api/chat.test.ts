import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChatStreamEvent } from '../../shared/events.ts';
import { parseChatStreamEvent, streamChat } from './chat.ts';
import { ApiError } from './http.ts';

const body = { model: 'demo-restricted', messages: [{ role: 'user' as const, content: 'Hello' }] };

/** A fetch answering an event stream in exactly these chunks. */
function streaming(chunks: string[], type = 'text/event-stream; charset=utf-8') {
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
  vi.stubGlobal('fetch', vi.fn(async () => new Response(stream, { status: 200, headers: { 'Content-Type': type } })));
}

async function collect(): Promise<ChatStreamEvent[]> {
  const events: ChatStreamEvent[] = [];
  await streamChat(body, new AbortController().signal, (event) => events.push(event));
  return events;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('streamChat', () => {
  it('posts the conversation as JSON and asks for an event stream', async () => {
    streaming(['data: {"type":"done","finishReason":"stop"}\n\n']);
    await collect();
    const [path, init] = vi.mocked(fetch).mock.calls[0]!;
    expect(path).toBe('/api/chat/stream');
    expect(init).toMatchObject({ method: 'POST', body: JSON.stringify(body) });
    expect(init?.headers).toMatchObject({ Accept: 'text/event-stream', 'Content-Type': 'application/json' });
  });

  it('reads events split anywhere, even inside a character', async () => {
    const euro = new TextEncoder().encode('data: {"type":"delta","text":"5 €"}\n\n');
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(euro.slice(0, euro.length - 5));
        controller.enqueue(euro.slice(euro.length - 5));
        controller.enqueue(encoder.encode('data: {"type":"cut","reason":"key_removed"}\n\n'));
        controller.close();
      },
    });
    vi.stubGlobal('fetch', vi.fn(async () => new Response(stream, { headers: { 'Content-Type': 'text/event-stream' } })));
    expect(await collect()).toEqual([
      { type: 'delta', text: '5 €' },
      { type: 'cut', reason: 'key_removed' },
    ]);
  });

  it('throws the server’s refusal before the stream as an ApiError', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        Response.json(
          { error: { code: 'GRANT_REQUIRED', message: 'Unlock restricted models with your security key to use this model.' } },
          { status: 403 },
        ),
      ),
    );
    await expect(collect()).rejects.toMatchObject({ name: 'ApiError', code: 'GRANT_REQUIRED', status: 403 });
  });

  it('refuses an answer that is not an event stream', async () => {
    streaming(['{"hello":1}'], 'application/json');
    await expect(collect()).rejects.toBeInstanceOf(ApiError);
  });

  it('rejects with the abort, not an ApiError, when stopped', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(
        (_path: string, init: RequestInit) =>
          new Promise((_resolve, reject) =>
            init.signal?.addEventListener('abort', () => reject(new DOMException('stopped', 'AbortError'))),
          ),
      ),
    );
    const controller = new AbortController();
    const pending = streamChat(body, controller.signal, () => undefined);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('parseChatStreamEvent', () => {
  it('reads the ids a conversation stream starts with', () => {
    expect(parseChatStreamEvent('{"type":"start","userMessageId":"u1","assistantMessageId":"a1"}')).toEqual({
      type: 'start',
      userMessageId: 'u1',
      assistantMessageId: 'a1',
    });
    // A retry asks no new question.
    expect(parseChatStreamEvent('{"type":"start","userMessageId":null,"assistantMessageId":"a2"}')).toEqual({
      type: 'start',
      userMessageId: null,
      assistantMessageId: 'a2',
    });
    expect(parseChatStreamEvent('{"type":"start","userMessageId":"u1"}')).toBeUndefined();
  });

  it('ignores what it does not know', () => {
    expect(parseChatStreamEvent('not json')).toBeUndefined();
    expect(parseChatStreamEvent('{"type":"mystery"}')).toBeUndefined();
    expect(parseChatStreamEvent('{"type":"delta"}')).toBeUndefined();
  });
});
