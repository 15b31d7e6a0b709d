/**
 * Two Argus nodes on one Postgres and one Redis behind a real nginx running deploy/nginx.conf
 * (issue #9): TLS, round robin, WebSocket upgrades for /ws and /ws/detector, and client
 * addresses taken from X-Forwarded-For only because TRUST_PROXY trusts the proxy.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantResponse, SessionResponse } from '../../shared/api.ts';
import type { PairingCodeResponse } from '../../shared/detector.ts';
import { DetectorClient, type DetectorState } from '../../client/detector/detectorClient.ts';
import { fakeSecurityKey, FakeHidSource } from '../../client/detector/hidSource.ts';
import { pair } from '../../client/detector/pair.ts';
import { query } from '../db/pool.ts';
import { enrollUser, errorCode, startTestNode, TestClient, type TestNode, type TestResponse } from '../test/harness.ts';
import { freePort } from '../test/env.ts';
import { TestSocket } from '../test/wsClient.ts';

const NGINX = '/usr/sbin/nginx';
/** The public origin is the proxy's own address here (a detector pairs with, and signs its requests for, that origin). */
let ORIGIN = '';
const hasNginx = existsSync(NGINX);
if (!hasNginx) console.warn(`nginx two-node test skipped: ${NGINX} is not installed (apt-get install nginx; .ci/run installs it)`);

/** A client that talks to the proxy over TLS from a chosen loopback address (127.0.0.0/8 is all ours). */
class ProxyClient extends TestClient {
  constructor(
    baseUrl: string,
    readonly ca: string,
    readonly localAddress = '127.0.0.1',
  ) {
    super(baseUrl, ORIGIN);
  }

  override request<T = unknown>(method: string, target: string, body?: unknown, headers: Record<string, string> = {}): Promise<TestResponse<T>> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        this.baseUrl + target,
        {
          method,
          ca: this.ca,
          localAddress: this.localAddress,
          agent: false,
          headers: {
            origin: this.origin,
            ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}),
            ...(this.cookie ? { cookie: this.cookie } : {}),
            ...headers,
          },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += String(chunk)));
          res.on('end', () => {
            // The session cookie only: a sign-in's answer may set the known-device cookie too.
            const setCookie = res.headers['set-cookie']?.find((header) => header.startsWith('argus.sid='));
            if (setCookie) this.cookie = /Expires=Thu, 01 Jan 1970/i.test(setCookie) ? null : setCookie.split(';')[0]!;
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') responseHeaders.set(name, value);
            if (setCookie) responseHeaders.set('set-cookie', setCookie);
            resolve({ status: res.statusCode ?? 0, headers: responseHeaders, body: (text ? JSON.parse(text) : undefined) as T });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}

/** deploy/nginx.conf with this test's addresses, ports and certificate; every edit must apply. */
function testNginxConfig(nodes: TestNode[], port: number, httpPort: number, cert: string, key: string): string {
  let config = readFileSync(path.resolve(import.meta.dirname, '../../deploy/nginx.conf'), 'utf8');
  const edit = (pattern: RegExp, replacement: string) => {
    const matches = config.match(new RegExp(pattern.source, 'gm'));
    if (!matches || matches.length !== 1) throw new Error(`deploy/nginx.conf changed: ${pattern} matched ${matches?.length ?? 0} times`);
    config = config.replace(new RegExp(pattern.source, 'm'), replacement);
  };
  edit(/^( *)server 10\.0\.0\.11:8080 (.*);\n *server 10\.0\.0\.12:8080 .*;$/, nodes.map((node) => `    server ${new URL(node.url).host} $2;`).join('\n'));
  edit(/^ *listen 80;\n *listen \[::\]:80;$/, `    listen 127.0.0.1:${httpPort};`);
  edit(/^ *listen 443 ssl http2;\n *listen \[::\]:443 ssl http2;$/, `    listen 127.0.0.1:${port} ssl http2;`);
  edit(/^ *ssl_certificate .*;$/, `    ssl_certificate ${cert};`);
  edit(/^ *ssl_certificate_key .*;$/, `    ssl_certificate_key ${key};`);
  return config;
}

async function waitForPort(port: number, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not start: ${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!hasNginx)('two nodes behind nginx (deploy/nginx.conf)', () => {
  let nodeA: TestNode;
  let nodeB: TestNode;
  let nginx: ChildProcess;
  let dir: string;
  let ca: string;
  let proxyUrl: string;
  const hits = new Map<TestNode, number>();

  beforeAll(async () => {
    const port = await freePort();
    ORIGIN = `https://127.0.0.1:${port}`;
    const env = { ARGUS_ORIGIN: ORIGIN, TRUST_PROXY: 'loopback', SIGNIN_RATE_PER_MINUTE: '4', SIGNIN_FAILURES_PER_USERNAME: '1000' };
    nodeA = await startTestNode(env);
    nodeB = await startTestNode(env, { databaseUrl: nodeA.databaseUrl, redisPrefix: nodeA.redisPrefix });
    for (const node of [nodeA, nodeB]) {
      hits.set(node, 0);
      node.server.on('request', () => hits.set(node, hits.get(node)! + 1));
    }

    dir = mkdtempSync(path.join(tmpdir(), 'argus-nginx-'));
    for (const temp of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, temp));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=argus.test',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:argus.test', '-keyout', key, '-out', cert], { stdio: 'pipe' });
    ca = readFileSync(cert, 'utf8');
    writeFileSync(path.join(dir, 'argus.conf'), testNginxConfig([nodeA, nodeB], port, await freePort(), cert, key));
    writeFileSync(
      path.join(dir, 'nginx.conf'),
      `${process.getuid?.() === 0 ? 'user root root;\n' : ''}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/argus.conf;
}
`,
    );
    nginx = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
    await waitForPort(port, nginx, path.join(dir, 'error.log'));
    proxyUrl = ORIGIN;
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      await new Promise<void>((resolve) => {
        nginx.once('exit', () => resolve());
        nginx.kill('SIGQUIT');
      });
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    await nodeB?.close();
    await nodeA?.destroy();
  });

  /** nodeA with its HTTP client swapped for one that goes through the proxy (enrollUser signs in with it). */
  const viaProxy = (localAddress?: string): TestNode => ({ ...nodeA, client: () => new ProxyClient(proxyUrl, ca, localAddress) });

  it('balances requests round robin over both nodes', async () => {
    const before = [hits.get(nodeA)!, hits.get(nodeB)!];
    const client = new ProxyClient(proxyUrl, ca);
    for (let i = 0; i < 6; i += 1) expect((await client.get('/healthz')).status).toBe(200);
    expect([hits.get(nodeA)! - before[0]!, hits.get(nodeB)! - before[1]!]).toEqual([3, 3]);
  });

  it('signs in over TLS (Secure cookie), unlocks, and a revocation made through one node reaches the socket held by the other', async () => {
    const rosa = await enrollUser(viaProxy(), { username: 'rosa', password: 'the owl and the pussycat' });
    const client = rosa.client as ProxyClient;
    // Set only because X-Forwarded-Proto told the node the request arrived over https.
    expect(client.cookie).toMatch(/^argus\.sid=/);
    expect((await client.get<SessionResponse>('/api/session')).body.signedIn).toBe(true);
    const options = await client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options');
    const granted = await client.post<GrantResponse>('/api/verify-key-ownership', { response: rosa.authenticator.assert(options.body.options), presenceMode: 'assertion' });
    expect(granted.status).toBe(200);
    const grantId = granted.body.grant!.id;

    // Sockets through the proxy until one is held by each node.
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 8 && (nodeA.hub.count() === 0 || nodeB.hub.count() === 0); i += 1) {
      sockets.push(await TestSocket.open(proxyUrl, { cookie: client.cookie, origin: ORIGIN, ca }));
      await expect.poll(() => nodeA.hub.count() + nodeB.hub.count()).toBe(sockets.length);
    }
    expect([nodeA.hub.count() > 0, nodeB.hub.count() > 0]).toEqual([true, true]);

    const before = [hits.get(nodeA)!, hits.get(nodeB)!];
    expect((await client.request('DELETE', '/api/grants/current', { reason: 'locked_by_user' })).status).toBe(204);
    const handledByA = hits.get(nodeA)! > before[0]!;
    expect(handledByA).not.toBe(hits.get(nodeB)! > before[1]!);
    // Every socket hears it, including those held by the node that did not make the change.
    for (const socket of sockets) expect(await socket.next('GRANT_REVOKED')).toMatchObject({ grantId, reason: 'locked_by_user' });
    for (const socket of sockets) socket.close();
    const chat = await client.post('/api/chat/stream', { model: 'demo-restricted', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.status).toBe(403);
  });

  it('upgrades /ws/detector through the proxy: a paired detector comes online over wss', async () => {
    const owner = await enrollUser(viaProxy(), { username: 'dora', password: 'the dong with a luminous nose' });
    const { code } = (await owner.client.post<PairingCodeResponse>('/api/detectors/pairing-codes')).body;
    writeFileSync(path.join(dir, 'ca.pem'), ca);
    const { credentials } = await pair({ code, server: proxyUrl, configDir: path.join(dir, 'detector'), caFile: path.join(dir, 'ca.pem'), name: 'proxy laptop' });
    const states: DetectorState[] = [];
    const detector = new DetectorClient({ credentials, source: new FakeHidSource([fakeSecurityKey('PROXY-0001')]), ca: Buffer.from(ca), onState: (s) => states.push(s) });
    try {
      await detector.start();
      await expect.poll(() => states.some((s) => s.state === 'online'), { timeout: 10_000 }).toBe(true);
    } finally {
      detector.stop();
    }
  });

  it('takes the client address from X-Forwarded-For set by the proxy: audit records and sign-in limits are per client, and a spoofed header changes nothing', async () => {
    const ivy = await enrollUser(viaProxy(), { username: 'ivy', password: 'the pelican chorus sings' });
    const from = (address: string) => new ProxyClient(proxyUrl, ca, address);
    const attempt = (client: ProxyClient, spoofed?: string) =>
      client.request('POST', '/api/auth/signin', { username: 'ivy', password: 'wrong wrong wrong' }, spoofed ? { 'x-forwarded-for': spoofed } : {});

    const first = from('127.0.0.3');
    expect((await attempt(first, '203.0.113.77')).status).toBe(401);
    const { rows } = await query<{ ip: string }>(nodeA.deps.pool, 't', "SELECT ip FROM audit_event WHERE action = 'auth.signin_failed' ORDER BY seq DESC LIMIT 1");
    // The client's own address: not the proxy's (127.0.0.1), not what the client claimed.
    expect(rows[0]!.ip).toBe('127.0.0.3');

    // SIGNIN_RATE_PER_MINUTE=4 per client address, shared by both nodes through Redis.
    for (let i = 0; i < 3; i += 1) expect((await attempt(first, `198.51.100.${i}`)).status).toBe(401);
    const limited = await attempt(first, '198.51.100.200');
    expect([limited.status, errorCode(limited)]).toEqual([429, 'RATE_LIMITED']);
    // Another client behind the same proxy is not limited by the first one's attempts.
    expect((await attempt(from('127.0.0.4'))).status).toBe(401);

    // WebSocket upgrades never reach Express, yet their per-address limit is keyed the same way.
    const socket = await TestSocket.open(proxyUrl, { cookie: ivy.client.cookie, origin: ORIGIN, ca, localAddress: '127.0.0.5' });
    socket.close();
    expect(await nodeA.deps.redis.exists('rl:ws-ip:127.0.0.5')).toBe(1);
  });
});
