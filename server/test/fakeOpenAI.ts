import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local model server speaking the OpenAI chat-completions streaming protocol (SSE chunks,
 * `data: [DONE]`, usage in the last chunk), with switchable failure modes. It stands in for
 * Ollama, vLLM, llama.cpp or OpenAI in tests and benchmarks.
 */
export type FakeMode = 'normal' | 'error500' | 'hang' | 'malformed' | 'drop' | 'hang-mid-stream' | 'after-done' | 'endless-line' | 'crlf';

export interface FakeRequestLog {
  body: { model: string; messages: Array<{ role: string; content: string }>; stream: boolean; max_tokens?: number };
  authorization: string | undefined;
  /** Set when the client closed the connection before the answer ended. */
  closedEarlyAt: number | null;
}

export class FakeOpenAI {
  mode: FakeMode = 'normal';
  tokens = 20;
  tokenDelayMs = 5;
  /** The line that 'malformed' sends in place of the fourth token. */
  malformedLine = 'data: {"choices": [ this is not json';
  readonly requests: FakeRequestLog[] = [];
  /** Off for benchmarks, whose hundreds of thousands of requests no one reads back. */
  keepRequestLog = true;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeOpenAI> {
    let fake: FakeOpenAI;
    const server = createServer((req, res) => void fake.handle(req, res));
    fake = new FakeOpenAI(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const log: FakeRequestLog = { body: JSON.parse(raw) as FakeRequestLog['body'], authorization: req.headers.authorization, closedEarlyAt: null };
    if (this.keepRequestLog) this.requests.push(log);
    let finished = false;
    res.on('close', () => {
      if (!finished) log.closedEarlyAt = Date.now();
    });
    if (req.url !== '/v1/chat/completions') {
      res.writeHead(404).end();
      return;
    }
    if (this.mode === 'error500') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"internal: secret-upstream-detail"}}');
      finished = true;
      return;
    }
    if (this.mode === 'hang') return; // never answers
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    // SSE allows CRLF line ends as well as LF; some servers and proxies send them.
    const eol = this.mode === 'crlf' ? '\r\n' : '\n';
    const chunk = (data: unknown) => res.write(`data: ${JSON.stringify(data)}${eol}${eol}`);
    chunk({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }] });
    if (this.mode === 'endless-line') {
      // One SSE line that never ends: 64 KiB at a time, up to 8 MiB, unless the client hangs up first.
      res.write('data: {"choices":[{"index":0,"delta":{"content":"');
      for (let sent = 0; sent < 8 * 1024 * 1024 && !res.destroyed; sent += 65_536) {
        res.write('a'.repeat(65_536));
        await new Promise((r) => setTimeout(r, 1));
      }
      if (!res.destroyed) res.end('"}}]}\n\n');
      finished = !res.destroyed;
      return;
    }
    for (let i = 0; i < this.tokens; i += 1) {
      if (res.destroyed) return;
      await new Promise((r) => setTimeout(r, this.tokenDelayMs));
      if (this.mode === 'malformed' && i === 3) {
        res.write(`${this.malformedLine}\n\n`);
        continue;
      }
      if (this.mode === 'drop' && i === 3) {
        res.socket?.destroy();
        return;
      }
      if (this.mode === 'hang-mid-stream' && i === 3) return;
      chunk({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: `tok${i} ` }, finish_reason: null }] });
    }
    chunk({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    chunk({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 7, completion_tokens: this.tokens, total_tokens: 7 + this.tokens } });
    res.write(`data: [DONE]${eol}${eol}`);
    if (this.mode === 'after-done') {
      // Not the protocol: text after the end. A client must have stopped reading at [DONE].
      await new Promise((r) => setTimeout(r, this.tokenDelayMs));
      chunk({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'after the end' }, finish_reason: null }] });
    }
    finished = true;
    res.end();
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
