/**
 * A real HTTP collector for the HTTP sink's tests and benchmark: a node:http server on
 * loopback that checks the bearer token and keeps what it was sent, and answers as the test
 * says (2xx, an error, a redirect, a hang, a dropped connection).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  /** 0, 1, 2 … in the order requests arrived. */
  index: number;
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
  /** What the receiver answered (0: it hung or dropped the connection). */
  status: number;
  /** The requests being handled at once when this one arrived, itself included. */
  concurrent: number;
}

/** How to answer one request: a status (after `delayMs`), or never ('hang'), or drop the connection ('destroy'). */
export type ReceiverAnswer = { status: number; delayMs?: number; body?: string; headers?: Record<string, string> } | 'hang' | 'destroy';

export interface TestHttpReceiver {
  readonly url: string;
  readonly port: number;
  /** Every request, accepted or not (empty when started with keepBodies: false). */
  readonly requests: ReceivedRequest[];
  /** The most requests ever handled at once. */
  readonly maxConcurrent: number;
  /** Changes how later requests are answered. */
  answerWith(answer: (request: ReceivedRequest) => ReceiverAnswer): void;
  /** The NDJSON lines (or JSON array items) of every request answered 2xx, in arrival order, parsed. */
  accepted(): Array<Record<string, unknown>>;
  /** Stops listening and drops every connection; `start` listens again on the same port. */
  halt(): Promise<void>;
  start(): Promise<void>;
}

/** Bodies as records: NDJSON lines, or the items of a JSON array. */
export function parseBatchBody(body: string): Array<Record<string, unknown>> {
  const trimmed = body.trim();
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as Array<Record<string, unknown>>;
  return trimmed === '' ? [] : trimmed.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

export async function startHttpReceiver({
  token,
  scheme = 'Bearer',
  port = 0,
  keepBodies = true,
  onBody,
}: {
  token: string;
  scheme?: string;
  port?: number;
  /** False for benchmarks: bodies go to onBody only. */
  keepBodies?: boolean;
  /** Called with each accepted body as it arrives. */
  onBody?: (body: string) => void;
}): Promise<TestHttpReceiver> {
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  let answer: (request: ReceivedRequest) => ReceiverAnswer = () => ({ status: 200 });
  let inFlight = 0;
  let maxConcurrent = 0;
  let count = 0;
  let server: Server | null = null;
  let boundPort = port;

  const handle = (incoming: IncomingMessage, response: ServerResponse) => {
    inFlight += 1;
    maxConcurrent = Math.max(maxConcurrent, inFlight);
    const concurrent = inFlight;
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const request: ReceivedRequest = {
        index: count++,
        method: incoming.method ?? '',
        path: incoming.url ?? '',
        authorization: incoming.headers.authorization,
        contentType: incoming.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
        status: 0,
        concurrent,
      };
      if (keepBodies) requests.push(request);
      const done = () => (inFlight -= 1);
      // A collector refuses what does not carry its token, as Splunk HEC and webhooks do.
      const decided: ReceiverAnswer = request.authorization === `${scheme} ${token}` ? answer(request) : { status: 401, body: '{"text":"Invalid token"}' };
      if (decided === 'hang') {
        incoming.socket.once('close', done);
        return;
      }
      if (decided === 'destroy') {
        done();
        incoming.socket.destroy();
        return;
      }
      setTimeout(() => {
        request.status = decided.status;
        if (decided.status >= 200 && decided.status < 300) onBody?.(request.body);
        response.writeHead(decided.status, { 'content-type': 'application/json', ...decided.headers });
        response.end(decided.body ?? '{"text":"Success","code":0}');
        done();
      }, decided.delayMs ?? 0);
    });
  };

  async function start(): Promise<void> {
    const listening = createServer(handle);
    listening.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(boundPort, '127.0.0.1', () => resolve());
    });
    boundPort = (listening.address() as AddressInfo).port;
    server = listening;
  }

  await start();
  return {
    get url() {
      return `http://127.0.0.1:${boundPort}/collector`;
    },
    get port() {
      return boundPort;
    },
    requests,
    get maxConcurrent() {
      return maxConcurrent;
    },
    answerWith(next) {
      answer = next;
    },
    accepted: () => requests.filter((request) => request.status >= 200 && request.status < 300).flatMap((request) => parseBatchBody(request.body)),
    async halt() {
      const stopping = server;
      server = null;
      if (!stopping) return;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => stopping.close(() => resolve()));
    },
    start,
  };
}
