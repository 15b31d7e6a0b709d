import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationListResponse, ConversationResponse, ConversationView, GrantResponse } from '../../shared/api.ts';
import type { ChatStreamEvent } from '../../shared/events.ts';
import { query, withTransaction } from '../db/pool.ts';
import { enrollUser, errorCode, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';
import { FakeOpenAI } from '../test/fakeOpenAI.ts';

let node: TestNode;
let fake: FakeOpenAI;
let amy: Awaited<ReturnType<typeof enrollUser>>;
let ben: Awaited<ReturnType<typeof enrollUser>>;

beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000', CHAT_REQUESTS_PER_MINUTE: '1000', MODEL_TIMEOUT_SECONDS: '2' });
  fake = await FakeOpenAI.start();
  await query(
    node.deps.pool,
    't',
    `INSERT INTO model (id, display_name, provider, base_url, upstream_model, tier) VALUES ('upstream', 'Upstream Llama', 'openai', $1, 'llama3.2', 'standard')`,
    [fake.baseUrl],
  );
  amy = await enrollUser(node, { username: 'amy', password: 'a parcel of rogues here' });
  ben = await enrollUser(node, { username: 'ben', password: 'a basket of ripe figs' });
});
afterAll(async () => {
  await node.destroy();
  await fake.stop();
});

async function stream(client: TestClient, path: string, body: unknown, onDelta?: () => void): Promise<{ status: number; events: ChatStreamEvent[]; error?: string }> {
  const response = await fetch(client.baseUrl + path, {
    method: 'POST',
    headers: { origin: client.origin, 'content-type': 'application/json', cookie: client.cookie! },
    body: JSON.stringify(body),
  });
  if (!response.headers.get('content-type')?.includes('event-stream')) {
    return { status: response.status, events: [], error: ((await response.json()) as { error: { code: string } }).error.code };
  }
  const text = await new Response(
    new ReadableStream({
      async start(controller) {
        const reader = response.body!.getReader();
        let sawDelta = false;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (!sawDelta && new TextDecoder().decode(value).includes('"delta"')) {
            sawDelta = true;
            onDelta?.();
          }
          controller.enqueue(value);
        }
        controller.close();
      },
    }),
  ).text();
  const events = text
    .split('\n\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line.replace(/^data: /, '')) as ChatStreamEvent);
  return { status: response.status, events };
}

async function newConversation(client: TestClient, model = 'demo-standard'): Promise<ConversationView> {
  const response = await client.post<{ conversation: ConversationView }>('/api/conversations', { model });
  expect(response.status).toBe(201);
  return response.body.conversation;
}

describe('conversations', () => {
  it('stores the question and the streamed answer, titles the conversation, and finds it again', async () => {
    const conversation = await newConversation(amy.client);
    expect(conversation.title).toBe('New conversation');
    const result = await stream(amy.client, `/api/conversations/${conversation.id}/messages`, { content: 'What is a grant in Argus?', model: 'demo-standard' });
    expect(result.events[0]).toMatchObject({ type: 'start' });
    expect(result.events.at(-1)).toEqual({ type: 'done', finishReason: 'stop' });
    const text = result.events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('');

    const stored = (await amy.client.get<ConversationResponse>(`/api/conversations/${conversation.id}`)).body;
    expect(stored.conversation.title).toBe('What is a grant in Argus?');
    expect(stored.messages.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'complete'],
    ]);
    expect(stored.messages[1]!.content).toBe(text);
    const list = (await amy.client.get<ConversationListResponse>('/api/conversations')).body.conversations;
    expect(list[0]!.id).toBe(conversation.id);
  });

  it('sends the whole history to a real upstream, and retry replaces the last answer', async () => {
    const conversation = await newConversation(amy.client, 'upstream');
    await stream(amy.client, `/api/conversations/${conversation.id}/messages`, { content: 'first question', model: 'upstream' });
    await stream(amy.client, `/api/conversations/${conversation.id}/messages`, { content: 'second question', model: 'upstream' });
    expect(fake.requests.at(-1)!.body.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    const before = (await amy.client.get<ConversationResponse>(`/api/conversations/${conversation.id}`)).body.messages;
    const retry = await stream(amy.client, `/api/conversations/${conversation.id}/retry`, {});
    expect(retry.events.at(-1)).toEqual({ type: 'done', finishReason: 'stop' });
    const after = (await amy.client.get<ConversationResponse>(`/api/conversations/${conversation.id}`)).body.messages;
    expect(after).toHaveLength(4);
    expect(after.at(-1)!.id).not.toBe(before.at(-1)!.id);
    expect(fake.requests.at(-1)!.body.messages.map((m) => m.content)).toEqual(['first question', expect.any(String), 'second question']);
  });

  it('edit replaces the last question and its answer, under the same grant check as retry', async () => {
    const conversation = await newConversation(amy.client, 'upstream');
    await stream(amy.client, `/api/conversations/${conversation.id}/messages`, { content: 'first question', model: 'upstream' });
    await stream(amy.client, `/api/conversations/${conversation.id}/messages`, { content: 'second qestion', model: 'upstream' });
    const before = (await amy.client.get<ConversationResponse>(`/api/conversations/${conversation.id}`)).body.messages;

    const edited = await stream(amy.client, `/api/conversations/${conversation.id}/edit`, { content: 'second question', model: 'upstream' });
    expect(edited.events[0]).toMatchObject({ type: 'start', userMessageId: expect.any(String) });
    expect(edited.events.at(-1)).toEqual({ type: 'done', finishReason: 'stop' });
    expect(fake.requests.at(-1)!.body.messages.map((m) => m.content)).toEqual(['first question', expect.any(String), 'second question']);
    const after = (await amy.client.get<ConversationResponse>(`/api/conversations/${conversation.id}`)).body.messages;
    expect(after.map((m) => [m.role, m.content.slice(0, 15)])).toEqual([
      ['user', 'first question'],
      ['assistant', before[1]!.content.slice(0, 15)],
      ['user', 'second question'],
      ['assistant', expect.any(String)],
    ]);
    expect(after.slice(2).map((m) => m.id)).not.toContain(before[2]!.id);

    // A restricted model without a grant: refused, and the question and answer stay as they were.
    const refused = await stream(amy.client, `/api/conversations/${conversation.id}/edit`, { content: 'sneaky', model: 'demo-restricted' });
    expect(refused.error).toBe('GRANT_REQUIRED');
    expect((await amy.client.get<ConversationResponse>(`/api/conversations/${conversation.id}`)).body.messages).toEqual(after);
    // Someone else's conversation, or one without a question, is not edited.
    expect((await stream(ben.client, `/api/conversations/${conversation.id}/edit`, { content: 'mine', model: 'upstream' })).error).toBe('NOT_FOUND');
    const empty = await newConversation(amy.client);
    expect((await stream(amy.client, `/api/conversations/${empty.id}/edit`, { content: 'hi', model: 'demo-standard' })).error).toBe('CONFLICT');
  });

  it('a retry or an edit right after Stop waits for the stopped answer to be stored, then answers', async () => {
    const conversation = await newConversation(amy.client);
    await stream(amy.client, `/api/conversations/${conversation.id}/messages`, { content: 'a long story', model: 'demo-standard' });
    const answerOf = async () => (await amy.client.get<ConversationResponse>(`/api/conversations/${conversation.id}`)).body.messages.at(-1)!;
    const stillStreaming = async () => {
      const answer = await answerOf();
      // As the stopped stream leaves it until its cut-off answer is written.
      await query(node.deps.pool, 't', `UPDATE message SET status = 'streaming' WHERE id = $1::uuid`, [answer.id]);
      return answer;
    };
    const storedLater = (answerId: string) =>
      setTimeout(() => void query(node.deps.pool, 't', `UPDATE message SET status = 'cut_off' WHERE id = $1::uuid`, [answerId]), 300);

    const stopped = await stillStreaming();
    storedLater(stopped.id);
    const retry = await stream(amy.client, `/api/conversations/${conversation.id}/retry`, {});
    expect(retry.error).toBeUndefined();
    expect(retry.events.at(-1)).toEqual({ type: 'done', finishReason: 'stop' });
    expect((await answerOf()).id).not.toBe(stopped.id);

    const stoppedAgain = await stillStreaming();
    storedLater(stoppedAgain.id);
    const edit = await stream(amy.client, `/api/conversations/${conversation.id}/edit`, { content: 'a short story', model: 'demo-standard' });
    expect(edit.error).toBeUndefined();
    expect(edit.events.at(-1)).toEqual({ type: 'done', finishReason: 'stop' });
    const after = (await amy.client.get<ConversationResponse>(`/api/conversations/${conversation.id}`)).body.messages;
    expect(after.map((m) => [m.role, m.status])).toEqual([
      ['user', 'complete'],
      ['assistant', 'complete'],
    ]);
    expect(after[0]!.content).toBe('a short story');
  });

  it('refuses a retry or an edit while the last answer is still being written elsewhere, and changes nothing', async () => {
    const conversation = await newConversation(amy.client);
    await stream(amy.client, `/api/conversations/${conversation.id}/messages`, { content: 'a long story', model: 'demo-standard' });
    const path = `/api/conversations/${conversation.id}`;
    const answer = (await amy.client.get<ConversationResponse>(path)).body.messages.at(-1)!;
    await query(node.deps.pool, 't', `UPDATE message SET status = 'streaming' WHERE id = $1::uuid`, [answer.id]);
    const before = (await amy.client.get<ConversationResponse>(path)).body.messages;

    const started = Date.now();
    const [retry, edit] = await Promise.all([
      stream(amy.client, `${path}/retry`, {}),
      stream(amy.client, `${path}/edit`, { content: 'a short story', model: 'demo-standard' }),
    ]);
    expect([retry.status, retry.error, edit.status, edit.error]).toEqual([409, 'CONFLICT', 409, 'CONFLICT']);
    // Refused only once the wait for the answer to be stored is over.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect((await amy.client.get<ConversationResponse>(path)).body.messages).toEqual(before);
  });

  it("answers with the stream's headers at once, before a slow model's first token", async () => {
    fake.tokens = 2;
    fake.tokenDelayMs = 1_500;
    try {
      const started = Date.now();
      const response = await fetch(`${amy.client.baseUrl}/api/chat/stream`, {
        method: 'POST',
        headers: { origin: amy.client.origin, 'content-type': 'application/json', cookie: amy.client.cookie! },
        body: JSON.stringify({ model: 'upstream', messages: [{ role: 'user', content: 'slow one' }] }),
      });
      // The headers are sent as soon as the model's request is out, not with the first token.
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
      expect(response.headers.get('x-accel-buffering')).toBe('no');
      expect(await response.text()).toContain('"type":"done"');
    } finally {
      fake.tokens = 20;
      fake.tokenDelayMs = 5;
    }
  });

  it('sends the text that came while the conversation was being stored, first and whole', async () => {
    const conversation = await newConversation(amy.client, 'upstream');
    fake.tokenDelayMs = 1;
    // Holding the conversation's row keeps the answer's rows from being written (their key check
    // waits for it), while the model's answer is already arriving.
    const answered = withTransaction(node.deps.pool, async (locker) => {
      await locker.query('SELECT 1 FROM conversation WHERE id = $1 FOR UPDATE', [conversation.id]);
      const result = stream(amy.client, `/api/conversations/${conversation.id}/messages`, { content: 'a quick one', model: 'upstream' });
      await expect.poll(() => fake.requests.at(-1)?.body.messages.at(-1)?.content).toBe('a quick one');
      await new Promise((resolve) => setTimeout(resolve, 150)); // twenty tokens, a millisecond apart, arrive meanwhile
      return { result }; // not awaited here: the answer can end only once the row is let go
    });
    try {
      const result = await (await answered).result;
      expect(result.events[0]).toMatchObject({ type: 'start' });
      const text = result.events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('');
      expect(text).toBe(Array.from({ length: 20 }, (_, i) => `tok${i} `).join(''));
      const stored = (await amy.client.get<ConversationResponse>(`/api/conversations/${conversation.id}`)).body.messages;
      expect(stored.at(-1)!.content).toBe(text);
    } finally {
      fake.tokenDelayMs = 5;
    }
  });

  it('renames and deletes, and only ever shows a user their own conversations', async () => {
    const conversation = await newConversation(amy.client);
    expect((await amy.client.patch<{ conversation: ConversationView }>(`/api/conversations/${conversation.id}`, { title: 'Renamed' })).body.conversation.title).toBe('Renamed');
    expect((await ben.client.get(`/api/conversations/${conversation.id}`)).status).toBe(404);
    expect((await ben.client.patch(`/api/conversations/${conversation.id}`, { title: 'Mine' })).status).toBe(404);
    expect((await ben.client.request('DELETE', `/api/conversations/${conversation.id}`)).status).toBe(404);
    expect((await stream(ben.client, `/api/conversations/${conversation.id}/messages`, { content: 'hi', model: 'demo-standard' })).error).toBe('NOT_FOUND');
    expect((await ben.client.get<ConversationListResponse>('/api/conversations')).body.conversations.map((c) => c.id)).not.toContain(conversation.id);
    expect((await amy.client.request('DELETE', `/api/conversations/${conversation.id}`)).status).toBe(204);
    expect((await amy.client.get(`/api/conversations/${conversation.id}`)).status).toBe(404);
  });

  it('refuses bad input with clear codes and stores nothing', async () => {
    const conversation = await newConversation(amy.client);
    const path = `/api/conversations/${conversation.id}/messages`;
    expect((await stream(amy.client, path, { content: '   ', model: 'demo-standard' })).error).toBe('VALIDATION_FAILED');
    expect((await stream(amy.client, path, { content: 'x'.repeat(32_001), model: 'demo-standard' })).error).toBe('VALIDATION_FAILED');
    expect((await stream(amy.client, path, { content: 'hi', model: 'no-such-model' })).error).toBe('MODEL_NOT_FOUND');
    expect(errorCode(await amy.client.post('/api/conversations', { model: 'no-such-model' }))).toBe('MODEL_NOT_FOUND');
    expect((await stream(amy.client, '/api/conversations/not-a-uuid/messages', { content: 'hi', model: 'demo-standard' })).error).toBe('VALIDATION_FAILED');
    // A restricted model without a grant: refused before anything is stored.
    expect((await stream(amy.client, path, { content: 'hi', model: 'demo-restricted' })).error).toBe('GRANT_REQUIRED');
    expect((await amy.client.get<ConversationResponse>(`/api/conversations/${conversation.id}`)).body.messages).toEqual([]);
  });

  it('stores a model failure as an error answer with a clear message', async () => {
    fake.mode = 'error500';
    try {
      const conversation = await newConversation(amy.client, 'upstream');
      const result = await stream(amy.client, `/api/conversations/${conversation.id}/messages`, { content: 'hello', model: 'upstream' });
      expect(result.events.at(-1)).toMatchObject({ type: 'error', code: 'MODEL_ERROR' });
      const answer = (await amy.client.get<ConversationResponse>(`/api/conversations/${conversation.id}`)).body.messages[1]!;
      expect(answer).toMatchObject({ status: 'error', note: expect.stringMatching(/HTTP 500/) });
    } finally {
      fake.mode = 'normal';
    }
  });

  it('keeps a partial restricted answer, marked cut off, when the key is removed mid-stream', async () => {
    const options = (await amy.client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body.options;
    await amy.client.post<GrantResponse>('/api/verify-key-ownership', { response: amy.authenticator.assert(options), presenceMode: 'webhid', device: { vendorId: 1, productId: 2, productName: 'k' } });
    const conversation = await newConversation(amy.client, 'demo-restricted');
    const result = await stream(amy.client, `/api/conversations/${conversation.id}/messages`, { content: 'tell me', model: 'demo-restricted' }, () => {
      setTimeout(() => void amy.client.request('DELETE', '/api/grants/current', { reason: 'key_removed' }), 60);
    });
    expect(result.events.at(-1)).toEqual({ type: 'cut', reason: 'key_removed' });
    // The grant has ended, so the restricted conversation is locked (issue #21) until the key is touched again.
    expect(errorCode(await amy.client.get(`/api/conversations/${conversation.id}`))).toBe('GRANT_REQUIRED');
    const again = (await amy.client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body.options;
    await amy.client.post<GrantResponse>('/api/verify-key-ownership', { response: amy.authenticator.assert(again), presenceMode: 'webhid', device: { vendorId: 1, productId: 2, productName: 'k' } });
    const answer = (await amy.client.get<ConversationResponse>(`/api/conversations/${conversation.id}`)).body.messages[1]!;
    expect(answer.status).toBe('cut_off');
    expect(answer.note).toMatch(/security key was removed/);
    expect(answer.content.length).toBeGreaterThan(0);
  });
});

describe('per-user limits', () => {
  /** A node of its own with the given chat limits, and a user's conversation on it to stream into. */
  async function withLimitedUser(limits: Record<string, string>, credentials: { username: string; password: string }, run: (client: TestClient, path: string) => Promise<void>) {
    const limited = await startTestNode(limits);
    try {
      const { client } = await enrollUser(limited, credentials);
      const conversation = (await client.post<{ conversation: ConversationView }>('/api/conversations', { model: 'demo-standard' })).body.conversation;
      await run(client, `/api/conversations/${conversation.id}/messages`);
    } finally {
      await limited.destroy();
    }
  }

  it('caps concurrent streams and requests per minute', async () => {
    await withLimitedUser({ CHAT_REQUESTS_PER_MINUTE: '4', CHAT_MAX_CONCURRENT_STREAMS: '1' }, { username: 'cy', password: 'a lantern for the ferry' }, async (client, path) => {
      let second: Awaited<ReturnType<typeof stream>> | null = null;
      const first = await stream(client, path, { content: 'one', model: 'demo-standard' }, () => {
        void stream(client, path, { content: 'two', model: 'demo-standard' }).then((r) => (second = r));
      });
      expect(first.events.at(-1)).toMatchObject({ type: 'done' });
      await expect.poll(() => second?.error).toBe('TOO_MANY_STREAMS');
      expect((await stream(client, path, { content: 'three', model: 'demo-standard' })).events.at(-1)).toMatchObject({ type: 'done' });
      expect((await stream(client, path, { content: 'four', model: 'demo-standard' })).events.at(-1)).toMatchObject({ type: 'done' });
      expect((await stream(client, path, { content: 'five', model: 'demo-standard' })).error).toBe('RATE_LIMITED');
    });
  });

  it('gives the stream slot back when the grant check refuses a restricted model', async () => {
    // The slot is claimed while the grant is checked; with one slot, a refused request that kept it would block the next.
    await withLimitedUser({ CHAT_REQUESTS_PER_MINUTE: '10', CHAT_MAX_CONCURRENT_STREAMS: '1' }, { username: 'di', password: 'a kettle on the stove' }, async (client, path) => {
      expect((await stream(client, path, { content: 'one', model: 'demo-restricted' })).error).toBe('GRANT_REQUIRED');
      expect((await stream(client, path, { content: 'two', model: 'demo-restricted' })).error).toBe('GRANT_REQUIRED');
      expect((await stream(client, path, { content: 'three', model: 'demo-standard' })).events.at(-1)).toMatchObject({ type: 'done' });
    });
  });
});
