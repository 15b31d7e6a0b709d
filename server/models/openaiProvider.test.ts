import { getEventListeners } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRow } from '../db/models.ts';
import { freePort } from '../test/env.ts';
import { FakeOpenAI } from '../test/fakeOpenAI.ts';
import { ProviderError, type CompletionRequest } from './providers.ts';
import { streamOpenAI } from './openaiProvider.ts';
import { ModelHostGuard, parseModelHostAllowlist } from './modelHosts.ts';

/** The fake model server listens on 127.0.0.1, inside: allowed as an operator would (MODEL_HOST_ALLOWLIST). */
const hosts = new ModelHostGuard({ allowlist: parseModelHostAllowlist('127.0.0.1') });

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await FakeOpenAI.start();
  process.env.TEST_UPSTREAM_KEY = 'sk-test-123';
});
afterAll(() => fake.stop());

const model = (): ModelRow => ({
  id: 'upstream',
  display_name: 'Upstream',
  description: '',
  provider: 'openai',
  base_url: fake.baseUrl,
  upstream_model: 'llama3.2',
  api_key_env: 'TEST_UPSTREAM_KEY',
  tier: 'standard',
  enabled: true,
  grant_seconds: 300,
  requires_user_verification: false,
  max_output_tokens: 64,
  updated_at: new Date(),
});

/** Starts a completion with the tests' defaults, any of them overridden; `pieces` fills as text arrives. */
function ask(overrides: Partial<CompletionRequest> = {}, target: ModelRow = model()) {
  const pieces: string[] = [];
  const answer = streamOpenAI(target, {
    messages: [{ role: 'user', content: 'hello' }],
    maxTokens: 64,
    signal: new AbortController().signal,
    timeoutMs: 2_000,
    hosts,
    onText: (piece) => pieces.push(piece),
    ...overrides,
  });
  return { pieces, answer };
}

async function collect(overrides: Partial<CompletionRequest> = {}) {
  const { pieces, answer } = ask(overrides);
  return { pieces, completion: await answer };
}

/** Runs `check` while the model server sends a long, slow answer (200 tokens, 10 ms apart). */
async function withLongAnswer(check: () => Promise<void>): Promise<void> {
  fake.mode = 'normal';
  fake.tokens = 200;
  fake.tokenDelayMs = 10;
  try {
    await check();
  } finally {
    fake.tokens = 20;
    fake.tokenDelayMs = 5;
  }
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe('OpenAI-compatible streaming provider', () => {
  it('streams the content, sends the upstream model, key and limits, and records usage', async () => {
    fake.mode = 'normal';
    const { pieces, completion } = await collect();
    expect(pieces.join('')).toBe(Array.from({ length: 20 }, (_, i) => `tok${i} `).join(''));
    expect(completion).toEqual({ finishReason: 'stop', usage: { promptTokens: 7, completionTokens: 20 } });
    const request = fake.requests.at(-1)!;
    expect(request.body).toMatchObject({ model: 'llama3.2', stream: true, max_tokens: 64, messages: [{ role: 'user', content: 'hello' }] });
    expect(request.authorization).toBe('Bearer sk-test-123');
  });

  it('reads CRLF line ends as it reads LF ones', async () => {
    fake.mode = 'crlf';
    const { pieces, completion } = await collect();
    expect(pieces.join('')).toBe(Array.from({ length: 20 }, (_, i) => `tok${i} `).join(''));
    expect(completion).toEqual({ finishReason: 'stop', usage: { promptTokens: 7, completionTokens: 20 } });
  });

  it('hands over nothing that comes after [DONE]', async () => {
    fake.mode = 'after-done';
    const { pieces, completion } = await collect();
    expect(completion.finishReason).toBe('stop');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the model server sends its extra chunk 5 ms after [DONE]
    expect(pieces.join('')).toBe(Array.from({ length: 20 }, (_, i) => `tok${i} `).join(''));
  });

  it('reads an answer whose writes cut lines anywhere, even inside a UTF-8 character, over a real connection', async () => {
    const stream = [
      'data: {"choices":[{"index":0,"delta":{"content":"café "},"finish_reason":null}]}\r\n\r\n',
      'data: {"choices":[{"index":0,"delta":{"content":"😀 \\"ok\\""},"finish_reason":"length"}]}\n\n',
      'data: {"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3}}\n\ndata: [DONE]\n\n',
    ].join('');
    const bytes = Buffer.from(stream);
    // Inside é (2 bytes) and 😀 (4 bytes), between a CR and its LF, inside "data:" and "[DONE]".
    const cuts = [bytes.indexOf('é') + 1, bytes.indexOf('😀') + 1, bytes.indexOf('😀') + 3, bytes.indexOf('\r\n') + 1, bytes.indexOf('data', 10) + 2, bytes.indexOf('[DONE]') + 3];
    const server = createServer(async (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.socket!.setNoDelay(true);
      let from = 0;
      for (const cut of [...cuts.sort((a, b) => a - b), bytes.length]) {
        res.write(bytes.subarray(from, cut));
        from = cut;
        await new Promise((resolve) => setTimeout(resolve, 15)); // each write its own read
      }
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { pieces, answer } = ask({}, { ...model(), base_url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` });
      expect(await answer).toEqual({ finishReason: 'length', usage: { promptTokens: 2, completionTokens: 3 } });
      expect(pieces.join('')).toBe('café 😀 "ok"');
      expect(pieces.length).toBeGreaterThan(1); // it did arrive in pieces
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('turns an upstream 500 into MODEL_ERROR without passing on its body', async () => {
    fake.mode = 'error500';
    const error = await failure(collect());
    expect(error.code).toBe('MODEL_ERROR');
    expect(error.message).toMatch(/HTTP 500/);
    expect(error.message).not.toMatch(/secret/);
  });

  it('times out an upstream that never answers, and one that stalls mid-answer', async () => {
    fake.mode = 'hang';
    const started = Date.now();
    expect((await failure(collect({ timeoutMs: 300 }))).code).toBe('MODEL_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2_000);
    fake.mode = 'hang-mid-stream';
    expect((await failure(collect({ timeoutMs: 300 }))).code).toBe('MODEL_TIMEOUT');
  });

  it('counts the timeout from the last read: an answer longer than the timeout, never silent that long, completes', () =>
    withLongAnswer(async () => {
      fake.tokens = 60; // 60 tokens 10 ms apart: about 600 ms, twice the timeout
      const { pieces, completion } = await collect({ timeoutMs: 300 });
      expect(completion.finishReason).toBe('stop');
      expect(pieces.join('')).toContain('tok59');
    }));

  /** The answer's failure, and the text handed over before it. */
  async function failedAnswer() {
    const { pieces, answer } = ask();
    return { error: await failure(answer), text: pieces.join('') };
  }

  it('reports a malformed chunk as MODEL_BAD_RESPONSE, after the text that came before it', async () => {
    fake.mode = 'malformed';
    const { error, text } = await failedAnswer();
    expect(error.code).toBe('MODEL_BAD_RESPONSE');
    expect(text).toBe('tok0 tok1 tok2 ');
  });

  it('reports a chunk that is JSON but not an object (null, a number) as MODEL_BAD_RESPONSE', async () => {
    fake.mode = 'malformed';
    try {
      for (const line of ['data: null', 'data: 5', 'data: "text"']) {
        fake.malformedLine = line;
        const { error, text } = await failedAnswer();
        expect(error.code, line).toBe('MODEL_BAD_RESPONSE');
        expect(text, line).toBe('tok0 tok1 tok2 ');
      }
    } finally {
      fake.malformedLine = 'data: {"choices": [ this is not json';
    }
  });

  it('refuses a line that never ends, and closes the connection, instead of holding it all in memory', async () => {
    fake.mode = 'endless-line';
    const { error, text } = await failedAnswer();
    expect(error.code).toBe('MODEL_BAD_RESPONSE');
    expect(text).toBe('');
    // The model server is cut off after about 1 MiB of its 8 MiB line.
    await expect.poll(() => fake.requests.at(-1)!.closedEarlyAt).not.toBeNull();
  });

  it('reports a connection dropped mid-answer, after the text that came before it', async () => {
    fake.mode = 'drop';
    const { error, text } = await failedAnswer();
    expect(error.code).toBe('MODEL_ERROR');
    expect(error.message).toMatch(/in the middle of the answer/);
    expect(text).toBe('tok0 tok1 tok2 ');
  });

  it('fails, and closes the model server\'s connection, when the text cannot be taken', () =>
    withLongAnswer(async () => {
      const refusal = new Error('the client went away');
      const { answer } = ask({
        onText: () => {
          throw refusal;
        },
      });
      await expect(answer).rejects.toBe(refusal);
      await expect.poll(() => fake.requests.at(-1)!.closedEarlyAt).not.toBeNull();
    }));

  it('reports an unreachable server as MODEL_UNREACHABLE', async () => {
    // A port nothing listens on.
    const dead = { ...model(), base_url: `http://127.0.0.1:${await freePort()}/v1` };
    expect((await failure(ask({}, dead).answer)).code).toBe('MODEL_UNREACHABLE');
  });

  it('propagates a client abort upstream: the model server sees the connection close', () =>
    withLongAnswer(async () => {
      const controller = new AbortController();
      const { pieces, answer } = ask({ signal: controller.signal });
      await expect.poll(() => pieces.length).toBeGreaterThanOrEqual(2);
      controller.abort();
      const aborted = pieces.length;
      expect(await answer).toEqual({ finishReason: 'stop', usage: null });
      // Nothing is handed over after the abort, though the model server was still sending.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(pieces).toHaveLength(aborted);
      expect(pieces.join('')).not.toContain('tok199');
      await expect.poll(() => fake.requests.at(-1)!.closedEarlyAt).not.toBeNull();
    }));

  it('propagates an abort that comes before the model server has answered at all', async () => {
    fake.mode = 'hang';
    const controller = new AbortController();
    const { answer } = ask({ messages: [{ role: 'user', content: 'x' }], signal: controller.signal, timeoutMs: 60_000 });
    await expect.poll(() => fake.requests.length > 0 && fake.requests.at(-1)!.body.messages[0]!.content === 'x').toBe(true);
    controller.abort();
    expect(await answer).toEqual({ finishReason: 'stop', usage: null });
    await expect.poll(() => fake.requests.at(-1)!.closedEarlyAt).not.toBeNull();
  });

  it('leaves no listener on the caller\'s signal, however the answer ends', async () => {
    for (const mode of ['normal', 'error500', 'malformed', 'drop'] as const) {
      fake.mode = mode;
      const controller = new AbortController();
      await collect({ signal: controller.signal }).catch(() => undefined);
      expect(getEventListeners(controller.signal, 'abort'), mode).toHaveLength(0);
    }
  });
});
