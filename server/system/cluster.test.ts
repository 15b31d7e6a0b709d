/**
 * `npm start` with ARGUS_WORKERS (server/cluster.ts, issue #24): real processes on one port,
 * on a real Postgres and Redis. Each worker is a full node, so a revocation made through one is
 * refused and announced on another; a killed worker comes back while the other serves; SIGTERM
 * stops them all; a crash loop stops the restarts; the embedded PostgreSQL and redis-server are
 * the primary's alone; ARGUS_WORKERS=1 is the single process it always was.
 *
 * A request reaches a chosen worker over a keep-alive connection that /healthz showed to be
 * that worker's; a WebSocket's worker is read from the kernel (`ss`: which process holds the
 * accepted socket), since connections are handed to workers in turn.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request, type ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { GrantResponse } from '../../shared/api.ts';
import { CRASH_LOOP, restartDelayMs } from '../cluster.ts';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { createPool, type Pool } from '../db/pool.ts';
import { createLogger } from '../log.ts';
import { createTestDatabase, enrollUser, errorCode, stepUpWith, TestClient, TEST_ORIGIN, type TestDatabase, type TestNode, type TestResponse } from '../test/harness.ts';
import { clearRedisPrefix, freePort, TEST_REDIS_URL } from '../test/env.ts';
import { FakeOpenAI } from '../test/fakeOpenAI.ts';
import { SoftAuthenticator } from '../test/softAuthenticator.ts';
import { TestSocket } from '../test/wsClient.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
// The WebSocket case reads from the kernel which worker holds a socket: `ss` (iproute2, installed by .ci/run).

interface LogLine {
  msg: string;
  worker?: number;
  pid?: number;
  cluster?: string;
  [field: string]: unknown;
}

/** `node server/main.ts` as `npm start` runs it (without the build), its JSON log lines collected. */
class ArgusProcess {
  readonly lines: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += String(chunk);
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ msg: line });
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += String(chunk)));
    // 'close', not 'exit': the last log lines may still be in the pipe when the process exits.
    this.exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  }

  static async start(env: Record<string, string>): Promise<ArgusProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: ROOT,
      // Only what is set here: nothing from the test runner's environment configures the nodes.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(port), HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ArgusProcess(child, `http://127.0.0.1:${port}`);
  }

  /** The primary's "worker ready" lines: worker id → pid, for workers that are listening now. */
  readyWorkers(): Map<number, number> {
    const ready = new Map<number, number>();
    for (const line of this.lines) {
      if (line.cluster === 'primary' && line.msg === 'worker ready') ready.set(line.worker!, line.pid!);
      if (line.cluster === 'primary' && line.msg === 'worker exited unexpectedly: restarting it; the others keep serving') ready.delete(line.worker!);
    }
    return ready;
  }

  async waitFor(what: string, done: () => boolean, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`Argus exited while waiting for ${what}: ${this.stderr}\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`Argus: no ${what} within ${timeoutMs} ms\n${this.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  tail(): string {
    return this.lines
      .slice(-15)
      .map((line) => JSON.stringify(line))
      .join('\n');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

/** The Argus processes directly under a pid (tsx may keep an esbuild helper there too). */
function argusChildrenOf(pid: number): number[] {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' }).trim().split('\n');
  return rows
    .map((row) => row.trim().split(/\s+/))
    .filter(([, parent, ...args]) => Number(parent) === pid && args.join(' ').includes('server/main.ts'))
    .map(([child]) => Number(child));
}

/** Every process under a pid, with its command line. */
function descendantsOf(pid: number): Array<{ pid: number; parent: number; args: string }> {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((row) => {
      const [child, parent, ...args] = row.trim().split(/\s+/);
      return { pid: Number(child), parent: Number(parent), args: args.join(' ') };
    });
  const found: Array<{ pid: number; parent: number; args: string }> = [];
  const walk = (of: number) => {
    for (const row of rows) if (row.parent === of) (found.push(row), walk(row.pid));
  };
  walk(pid);
  return found;
}

/** Which of `pids` holds the accepted end of the connection from `clientAddress` to `port`. */
function holderOf(port: number, clientAddress: string, pids: number[]): number[] {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  const holders = new Set<number>();
  for (const line of out.split('\n')) {
    if (!line.includes(` ${clientAddress}:`)) continue;
    for (const match of line.matchAll(/pid=(\d+)/g)) if (pids.includes(Number(match[1]))) holders.add(Number(match[1]));
  }
  return [...holders];
}

class WrongConnection extends Error {}

const METRICS_TOKEN = 'cluster-test-metrics-token-0123456789';

/** The value of one sample in a Prometheus text exposition (its name and labels exactly as written), or undefined. */
function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((row) => row.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
const HEALTHZ_COUNT = 'argus_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}';

/**
 * Every request over one keep-alive connection, which /healthz showed to be `worker`'s. Should
 * that connection close (the server's keep-alive timeout), a request is never sent on another
 * one unverified: the client finds the worker again first.
 */
class WorkerClient extends TestClient {
  private agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private connection: Socket | null = null;

  private constructor(
    baseUrl: string,
    readonly worker: number,
  ) {
    super(baseUrl, TEST_ORIGIN);
  }

  /** A client on `worker`, signed in as `session`'s user (the same cookie) if given. */
  static async on(baseUrl: string, worker: number, session?: TestClient): Promise<WorkerClient> {
    const client = new WorkerClient(baseUrl, worker);
    client.cookie = session?.cookie ?? null;
    await client.findWorker();
    return client;
  }

  private async findWorker(): Promise<void> {
    for (let attempt = 0; attempt < 40; attempt += 1) {
      this.agent.destroy();
      this.agent = new Agent({ keepAlive: true, maxSockets: 1 });
      this.connection = null;
      const { response, socket } = await this.send<{ worker: number }>('GET', '/healthz', undefined, {}, null);
      if (response.body.worker === this.worker) {
        this.connection = socket;
        return;
      }
    }
    throw new Error(`no connection reached worker ${this.worker}`);
  }

  override async request<T = unknown>(method: string, target: string, body?: unknown, headers: Record<string, string> = {}): Promise<TestResponse<T>> {
    for (;;) {
      try {
        return (await this.send<T>(method, target, body, headers, this.connection)).response;
      } catch (error) {
        if (!(error instanceof WrongConnection)) throw error;
        await this.findWorker();
      }
    }
  }

  /** A POST whose answer streams: `started` resolves with its first bytes, `done` with the whole answer. */
  stream(target: string, body: unknown): { started: Promise<void>; done: Promise<TestResponse<string>> } {
    let started: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (started = resolve));
    const done = (async () => {
      for (;;) {
        try {
          return (await this.send<string>('POST', target, body, {}, this.connection, started)).response;
        } catch (error) {
          if (!(error instanceof WrongConnection)) throw error;
          await this.findWorker();
        }
      }
    })();
    return { started: first, done };
  }

  /** Sends on the agent's connection; refuses (before sending a byte) a connection other than `expected`, when given. */
  private send<T>(method: string, target: string, body: unknown, headers: Record<string, string>, expected: Socket | null, onData?: () => void) {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<{ response: TestResponse<T>; socket: Socket }>((resolve, reject) => {
      const req: ClientRequest = request(this.baseUrl + target, {
        method,
        agent: this.agent,
        headers: {
          origin: this.origin,
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}),
          ...(this.cookie ? { cookie: this.cookie } : {}),
          ...headers,
        },
      });
      req.once('socket', (socket: Socket) => {
        if (expected && socket !== expected) return void req.destroy(new WrongConnection());
        req.end(payload);
      });
      req.once('response', (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += String(chunk);
          onData?.();
        });
        res.on('end', () => {
          const setCookie = res.headers['set-cookie']?.find((header) => header.startsWith('argus.sid='));
          if (setCookie) this.cookie = /Expires=Thu, 01 Jan 1970/i.test(setCookie) ? null : setCookie.split(';')[0]!;
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') responseHeaders.set(name, value);
          const json = /json/.test(res.headers['content-type'] ?? '');
          resolve({ response: { status: res.statusCode ?? 0, headers: responseHeaders, body: (json && text ? JSON.parse(text) : text) as T }, socket: req.socket as Socket });
        });
      });
      req.once('error', reject);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Enough of a TestNode for enrollUser: the test's own pool and config, and clients on the cluster's port. */
function clusterAsNode(argus: ArgusProcess, pool: Pool, config: Config): TestNode {
  return {
    deps: { pool, config },
    client: () => new TestClient(argus.url, TEST_ORIGIN),
    authenticator: () => new SoftAuthenticator(config.origin, config.rpId),
  } as unknown as TestNode;
}

/** The environment of a cluster on a test database of its own. */
function clusterEnv(database: TestDatabase, redisPrefix: string, dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    ARGUS_ORIGIN: TEST_ORIGIN,
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: redisPrefix,
    SESSION_SECRET: 'cluster-test-secret-cluster-test-secret',
    ARGUS_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    SIGNIN_RATE_PER_MINUTE: '1000',
    // The test's model server (FakeOpenAI) listens on 127.0.0.1.
    MODEL_HOST_ALLOWLIST: '127.0.0.1',
    ...extra,
  };
}

describe('ARGUS_WORKERS=2: two workers on one port', () => {
  let database: TestDatabase;
  let argus: ArgusProcess;
  let pool: Pool;
  let config: Config;
  let dataDir: string;
  let metricsPort: number;
  const redisPrefix = `argus-test:${randomBytes(6).toString('hex')}:`;
  const clients: WorkerClient[] = [];
  const scrape = async (client: WorkerClient) => (await client.request<string>('GET', '/metrics', undefined, { authorization: `Bearer ${METRICS_TOKEN}` })).body;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = mkdtempSync(path.join(tmpdir(), 'argus-cluster-'));
    metricsPort = await freePort();
    const env = clusterEnv(database, redisPrefix, dataDir, { ARGUS_WORKERS: '2', METRICS_TOKEN, METRICS_PORT: String(metricsPort) });
    argus = await ArgusProcess.start(env);
    await argus.waitFor('two ready workers', () => argus.readyWorkers().size === 2, 90_000);
    // After the primary made the data directory's secrets: the test reads the same ones.
    config = loadConfig(env);
    pool = createPool(database.url, createLogger('silent'), 2);
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await argus?.stop();
    await pool?.end();
    await database?.drop();
    await clearRedisPrefix(redisPrefix);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('runs the workers under one primary, which serves nothing itself; log lines say which worker', async () => {
    const workers = argus.readyWorkers();
    expect(argusChildrenOf(argus.child.pid!).sort()).toEqual([...workers.values()].sort());
    const answered = new Set<number>();
    for (let i = 0; i < 20 && answered.size < 2; i += 1) {
      const health = await fetch(`${argus.url}/healthz`, { headers: { connection: 'close' } });
      answered.add(((await health.json()) as { worker: number }).worker);
    }
    expect([...answered].sort()).toEqual([...workers.keys()].sort());
    expect(argus.lines.some((line) => line.msg === 'worker listening' && workers.has(line.worker!))).toBe(true);
    // The primary says so once, when every worker listens.
    expect(argus.lines.find((line) => /Argus is running at/.test(line.msg))).toMatchObject({ cluster: 'primary', workers: 2 });
  });

  it("answers /metrics with the whole cluster's figures, through any worker and on METRICS_PORT (served by the primary)", async () => {
    const [workerA, workerB] = [...argus.readyWorkers().keys()];
    const onA = await WorkerClient.on(argus.url, workerA!);
    const onB = await WorkerClient.on(argus.url, workerB!);
    clients.push(onA, onB);
    const before = sample(await scrape(onA), HEALTHZ_COUNT)!;
    for (let i = 0; i < 10; i += 1) {
      expect((await onA.get('/healthz')).status).toBe(200);
      expect((await onB.get('/healthz')).status).toBe(200);
    }
    // Ten each: one worker alone would have counted ten.
    const viaB = await scrape(onB);
    expect(sample(viaB, HEALTHZ_COUNT)! - before).toBe(20);
    const viaPort = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(sample(viaPort, HEALTHZ_COUNT)).toBe(sample(viaB, HEALTHZ_COUNT));
  });

  it('a key removed through one worker ends the grant on the other: its socket hears GRANT_REVOKED, its stream is cut, its next restricted request is refused', async () => {
    const [workerA, workerB] = [...argus.readyWorkers().keys()];
    // A restricted model whose server streams for minutes, unless Argus hangs up (added before the grant, which names its models).
    const upstream = await FakeOpenAI.start();
    upstream.tokens = 5_000;
    upstream.tokenDelayMs = 50;
    await pool.query(
      `INSERT INTO model (id, display_name, provider, base_url, upstream_model, tier, max_output_tokens) VALUES ('slow-restricted', 'Slow', 'openai', $1, 'm', 'restricted', 8192)`,
      [upstream.baseUrl],
    );
    onTestFinished(() => upstream.stop());
    const node = clusterAsNode(argus, pool, config);
    const rosa = await enrollUser(node, { username: 'rosa', password: 'the owl and the pussycat' });
    const onA = await WorkerClient.on(argus.url, workerA!, rosa.client);
    const onB = await WorkerClient.on(argus.url, workerB!, rosa.client);
    clients.push(onA, onB);

    // A second key, so the first may be removed (never the last one).
    await stepUpWith(onA, rosa.authenticator);
    const spare = new SoftAuthenticator(config.origin, config.rpId);
    const { options: creation } = (await onA.post<{ options: { challenge: string } }>('/api/account/keys/options')).body;
    expect((await onA.post('/api/account/keys', { response: spare.register(creation as never), nickname: 'spare' })).status).toBe(201);

    // The grant is made through worker A with the first key; worker B sees it.
    const { options } = (await onA.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body;
    const granted = await onA.post<GrantResponse>('/api/verify-key-ownership', { response: rosa.authenticator.assert(options), presenceMode: 'assertion' });
    expect(granted.status).toBe(200);
    const grantId = granted.body.grant!.id;
    expect((await onB.get<GrantResponse>('/api/grants/current')).body.grant?.id).toBe(grantId);
    // Every worker reads the same count from Redis: the cluster's figure is that count, not the sum.
    expect(sample(await scrape(onB), 'argus_grants_active')).toBe(1);

    // A socket held by worker B: opened from addresses of its own until the kernel shows B's pid holding one.
    const port = Number(new URL(argus.url).port);
    const pidB = argus.readyWorkers().get(workerB!)!;
    const pids = [...argus.readyWorkers().values()];
    let socketOnB: TestSocket | null = null;
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 10 && !socketOnB; i += 1) {
      const address = `127.0.0.${20 + i}`;
      const socket = await TestSocket.open(argus.url, { cookie: rosa.client.cookie, origin: TEST_ORIGIN, localAddress: address });
      sockets.push(socket);
      let holders: number[] = [];
      await expect.poll(() => (holders = holderOf(port, address, pids)).length, { timeout: 5_000 }).toBe(1);
      if (holders[0] === pidB) socketOnB = socket;
    }
    expect(socketOnB, 'no WebSocket landed on worker B').not.toBeNull();

    // A restricted stream on worker B, from the model server that would go on for minutes; once
    // it is streaming, the key is removed through worker A.
    try {
      const stream = onB.stream('/api/chat/stream', { model: 'slow-restricted', messages: [{ role: 'user', content: 'tell me a long story' }] });
      await stream.started;
      expect((await onA.request('DELETE', `/api/account/keys/${rosa.keyId}`)).status).toBe(204);

      expect(await socketOnB!.next('GRANT_REVOKED', 10_000)).toMatchObject({ grantId, reason: 'key_deleted' });
      const streamed = await stream.done;
      expect(streamed).toMatchObject({ status: 200, body: expect.stringContaining('"type":"cut","reason":"key_deleted"') });
      await expect.poll(() => upstream.requests[0]?.closedEarlyAt ?? null, { timeout: 10_000 }).not.toBeNull();
      const refused = await onB.post('/api/chat/stream', { model: 'slow-restricted', messages: [{ role: 'user', content: 'and another' }] });
      expect([refused.status, errorCode(refused)]).toEqual([403, 'GRANT_REQUIRED']);
      expect(upstream.requests).toHaveLength(1);
    } finally {
      for (const socket of sockets) socket.close();
    }
  }, 60_000);

  it('a killed worker comes back while the other keeps serving', async () => {
    const before = argus.readyWorkers();
    const [victim, survivor] = [...before.keys()];
    const survivorClient = await WorkerClient.on(argus.url, survivor!);
    clients.push(survivorClient);

    process.kill(before.get(victim!)!, 'SIGKILL');
    await argus.waitFor('the primary to see the worker die', () => argus.readyWorkers().size === 1);
    // Until a new worker listens, every request is served: on the survivor's open connection and on new ones.
    const served: Array<{ status: number; worker: number }> = [];
    const deadline = Date.now() + 60_000;
    while (argus.readyWorkers().size < 2) {
      expect(Date.now(), `no new worker: ${argus.tail()}`).toBeLessThan(deadline);
      const kept = await survivorClient.get<{ worker: number }>('/healthz');
      const fresh = await fetch(`${argus.url}/healthz`, { headers: { connection: 'close' } });
      served.push({ status: kept.status, worker: kept.body.worker }, { status: fresh.status, worker: ((await fresh.json()) as { worker: number }).worker });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(served.length).toBeGreaterThan(0);
    // (A new connection may reach the new worker the moment it listens, just before it reports ready.)
    expect(served.filter((answer) => answer.status !== 200 || answer.worker === victim)).toEqual([]);
    expect(served.filter((answer) => answer.worker === survivor).length).toBeGreaterThan(0);

    const after = argus.readyWorkers();
    const [replacement] = [...after.keys()].filter((id) => !before.has(id));
    expect(replacement).toBeDefined();
    expect(after.get(replacement!)).not.toBe(before.get(victim!));
    expect(argus.lines.find((line) => line.msg === 'worker exited unexpectedly: restarting it; the others keep serving')).toMatchObject({ worker: victim, signal: 'SIGKILL' });
    // The new worker answers too.
    const onReplacement = await WorkerClient.on(argus.url, replacement!);
    clients.push(onReplacement);
    expect((await onReplacement.get<{ worker: number }>('/healthz')).body).toEqual({ status: 'ok', worker: replacement });
  }, 90_000);

  it('SIGTERM to the primary stops every worker gracefully and exits 0', async () => {
    const workers = [...argus.readyWorkers().values()];
    argus.child.kill('SIGTERM');
    expect(await argus.exited).toEqual({ code: 0, signal: null });
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
    const shutDown = argus.lines.filter((line) => line.msg === 'shutting down').map((line) => line.worker);
    expect(shutDown.sort()).toEqual([...argus.readyWorkers().keys()].sort());
  }, 60_000);
});

describe('ARGUS_WORKERS=1, and a crash loop', () => {
  let database: TestDatabase;
  let dataDir: string;
  const redisPrefix = `argus-test:${randomBytes(6).toString('hex')}:`;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = mkdtempSync(path.join(tmpdir(), 'argus-cluster-'));
  });

  afterAll(async () => {
    await database?.drop();
    await clearRedisPrefix(redisPrefix);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('ARGUS_WORKERS=1 runs one process, as before: no cluster primary, no worker', async () => {
    const argus = await ArgusProcess.start(clusterEnv(database, redisPrefix, dataDir, { ARGUS_WORKERS: '1' }));
    try {
      await argus.waitFor('the node to listen', () => argus.lines.some((line) => /^Argus is running at/.test(line.msg)));
      expect(argusChildrenOf(argus.child.pid!)).toEqual([]);
      const health = await fetch(`${argus.url}/healthz`);
      expect(await health.json()).toEqual({ status: 'ok' });
      expect(argus.lines.filter((line) => line.cluster !== undefined || line.worker !== undefined)).toEqual([]);
    } finally {
      argus.child.kill('SIGTERM');
    }
    expect(await argus.exited).toEqual({ code: 0, signal: null });
  }, 90_000);

  it(`stops restarting after ${CRASH_LOOP.crashes} crashes within ${CRASH_LOOP.windowMs / 1000} s and exits non-zero, saying so`, async () => {
    // Workers whose Redis refuses connections (a port nothing listens on) crash at every start; the primary never connects to it.
    const argus = await ArgusProcess.start(clusterEnv(database, redisPrefix, dataDir, { ARGUS_WORKERS: '2', REDIS_URL: `redis://127.0.0.1:${await freePort()}` }));
    try {
      const { code } = await Promise.race([
        argus.exited,
        new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`still running: ${argus.tail()}`)), 100_000).unref()),
      ]);
      expect(code).toBe(1);
    } finally {
      await argus.stop();
    }
    const restarts = argus.lines.filter((line) => line.msg === 'worker exited unexpectedly: restarting it; the others keep serving');
    expect(restarts.length).toBe(CRASH_LOOP.crashes - 1);
    expect(argus.lines.find((line) => line.cluster === 'primary' && line.level === 60)?.msg).toMatch(/crashed 5 times within 60 s: not restarting them; stopping Argus/);
    expect(argus.lines.at(-1)).toMatchObject({ cluster: 'primary', msg: 'every worker stopped', code: 1 });
  }, 120_000);
});

describe('ARGUS_WORKERS and the restart backoff', () => {
  const base = { SESSION_SECRET: 'x'.repeat(32), ARGUS_DATA_DIR: path.join(tmpdir(), 'argus-config-test') };

  it("is one worker per core by default ('auto'), or a whole number from 1 to 64", () => {
    expect(loadConfig(base).workers).toBe(Math.min(64, availableParallelism()));
    expect(loadConfig({ ...base, ARGUS_WORKERS: 'auto' }).workers).toBe(Math.min(64, availableParallelism()));
    expect(loadConfig({ ...base, ARGUS_WORKERS: '1' }).workers).toBe(1);
    expect(loadConfig({ ...base, ARGUS_WORKERS: '64' }).workers).toBe(64);
    for (const bad of ['0', '65', '2.5', '-1', 'many', ' 2']) {
      expect(() => loadConfig({ ...base, ARGUS_WORKERS: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ ...base, ARGUS_WORKERS: bad }), bad).toThrow(/ARGUS_WORKERS: 'auto' \(one per core\) or a whole number from 1 to 64/);
    }
  });

  it('waits 0.5 s before the first restart in a minute, doubling up to 10 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(restartDelayMs)).toEqual([500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });
});

describe('without DATABASE_URL and REDIS_URL', () => {
  let dataDir: string;

  afterAll(() => {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('the primary alone starts the embedded PostgreSQL and redis-server and migrates; workers use them; all stop after the workers', async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'argus-cluster-embedded-'));
    // Run as root, the embedded PostgreSQL runs as the `postgres` user, which must reach its data directory.
    chmodSync(dataDir, 0o755);
    const argus = await ArgusProcess.start({
      NODE_ENV: 'test',
      ARGUS_ORIGIN: TEST_ORIGIN,
      ARGUS_DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(await freePort()),
      EMBEDDED_REDIS_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
      ARGUS_WORKERS: '2',
    });
    try {
      await argus.waitFor('two ready workers', () => argus.readyWorkers().size === 2, 150_000);
      const primary = argus.child.pid!;
      const workers = [...argus.readyWorkers().values()];
      const tree = descendantsOf(primary);
      const postmasters = tree.filter((row) => row.args.includes(`-D ${dataDir}/pg`));
      const redisServers = tree.filter((row) => row.args.startsWith('redis-server'));
      expect(postmasters.map((row) => row.parent)).toEqual([primary]);
      expect(redisServers.map((row) => row.parent)).toEqual([primary]);
      // Migrated once, by the primary; the workers connect as the server's own role and are ready.
      const migrations = argus.lines.filter((line) => line.msg === 'migration applied');
      expect(migrations.length).toBeGreaterThan(0);
      expect(migrations.filter((line) => line.cluster !== 'primary')).toEqual([]);
      const answers = new Map<number, { status: string; details: { database: { leastPrivilege: boolean } } }>();
      for (const worker of argus.readyWorkers().keys()) {
        const client = await WorkerClient.on(argus.url, worker);
        answers.set(worker, (await client.get<{ status: string; details: { database: { leastPrivilege: boolean } } }>('/readyz')).body);
        client.close();
      }
      for (const answer of answers.values()) expect(answer).toMatchObject({ status: 'ready', details: { database: { leastPrivilege: true } } });

      argus.child.kill('SIGTERM');
      expect(await argus.exited).toEqual({ code: 0, signal: null });
      for (const pid of [...workers, ...postmasters.map((row) => row.pid), ...redisServers.map((row) => row.pid)]) expect(() => process.kill(pid, 0), String(pid)).toThrow();
    } finally {
      await argus.stop();
    }
  }, 180_000);
});
