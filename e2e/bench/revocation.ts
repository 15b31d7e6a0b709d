/**
 * `npm run bench:revocation`: how fast a removed key locks the models, on loopback.
 *
 * For each trial a grant is issued to a signed-in session (directly: this measures
 * revocation, not WebAuthn), a WebSocket is open on that session, and the browser's
 * WebHID disconnect report (DELETE /api/grants/current, reason key_removed) is sent.
 * Measured from the moment the server starts ending the grant (the report has reached the
 * route handler) to (a) the grant being gone from Redis and (b) GRANT_REVOKED arriving at
 * the WebSocket client — with the socket on the same node, and on a second node.
 * Then the grant check's cost on a restricted request.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadConfig } from '../../server/config.ts';
import type { Grant } from '../../server/grants/grants.ts';
import { createLogger } from '../../server/log.ts';
import { startArgus, type Running } from '../../server/runtime.ts';
import { TEST_REDIS_URL } from '../../server/test/env.ts';
import { TestSocket } from '../../server/test/wsClient.ts';
import { benchDatabase, enrollOverHttp } from './benchSetup.ts';

const TRIALS = Number(process.env.TRIALS ?? 1000);
const ORIGIN = 'http://bench.argus';

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return `p50 ${at(0.5).toFixed(2)} ms  p99 ${at(0.99).toFixed(2)} ms  max ${sorted.at(-1)!.toFixed(2)} ms  (n=${sorted.length})`;
}

async function startNode(env: Record<string, string>): Promise<Running> {
  const config = loadConfig({ NODE_ENV: 'test', PORT: '0', ARGUS_ORIGIN: ORIGIN, REDIS_URL: TEST_REDIS_URL, LOG_LEVEL: 'silent', SIGNIN_RATE_PER_MINUTE: '10000', ROUTE_RATE_LIMIT_FACTOR: '10000', CHAT_REQUESTS_PER_MINUTE: '100000', CHAT_MAX_CONCURRENT_STREAMS: '1000', ...env });
  return startArgus(config, createLogger('silent'), { serveClient: false });
}

async function signedInCookie(node: Running): Promise<{ cookie: string; userId: string; keyId: string }> {
  const { cookie, userId } = await enrollOverHttp({ baseUrl: node.url, pool: node.deps.pool, config: node.deps.config });
  const keys = (await (await fetch(`${node.url}/api/account/keys`, { headers: { cookie } })).json()) as { keys: Array<{ id: string }> };
  return { cookie, userId, keyId: keys.keys[0]!.id };
}

function sessionIdOf(cookie: string): string {
  return decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!;
}

async function revocationTrials(label: string, revokeOn: Running, listenOn: Running): Promise<void> {
  const { cookie, userId, keyId } = await signedInCookie(revokeOn);
  const sessionId = sessionIdOf(cookie);
  const socket = await TestSocket.open(listenOn.url, { origin: ORIGIN, cookie });
  const gone: number[] = [];
  const announced: number[] = [];
  let startedAt = 0;
  let goneAt = 0;
  revokeOn.deps.grants.onEnded = (info) => {
    startedAt = info.startedAt;
    goneAt = info.goneAt;
  };
  for (let i = 0; i < TRIALS; i += 1) {
    const now = Date.now();
    const grant: Grant = { id: randomUUID(), userId, username: 'bench', sessionId, keyId, keyNickname: 'k', models: ['demo-restricted'], issuedAt: now, expiresAt: now + 300_000, presenceMode: 'webhid', device: null };
    await revokeOn.deps.grants.issue(grant);
    await socket.next('MODELS_UNLOCKED', 50).catch(() => undefined);
    socket.events.length = 0;
    const arrived = socket.next('GRANT_REVOKED', 2_000).then(() => performance.now());
    const response = await fetch(`${revokeOn.url}/api/grants/current`, {
      method: 'DELETE',
      headers: { origin: ORIGIN, 'content-type': 'application/json', cookie },
      body: '{"reason":"key_removed"}',
    });
    if (response.status !== 204) throw new Error(`revoke answered ${response.status}`);
    const arrivedAt = await arrived;
    gone.push(goneAt - startedAt);
    announced.push(arrivedAt - startedAt);
  }
  socket.close();
  revokeOn.deps.grants.onEnded = null;
  console.log(`\n${label}: ${TRIALS} trials`);
  console.log(`  (a) report → grant gone from Redis        ${stats(gone)}`);
  console.log(`  (b) report → GRANT_REVOKED at the socket  ${stats(announced)}`);
}

async function grantCheckCost(node: Running): Promise<void> {
  const { cookie, userId, keyId } = await signedInCookie(node);
  const sessionId = sessionIdOf(cookie);
  const now = Date.now();
  await node.deps.grants.issue({ id: randomUUID(), userId, username: 'bench', sessionId, keyId, keyNickname: 'k', models: ['demo-restricted'], issuedAt: now, expiresAt: now + 3_600_000, presenceMode: 'assertion', device: null });
  const checks: number[] = [];
  for (let i = 0; i < 10_000; i += 1) {
    const t = performance.now();
    const result = await node.deps.grants.check(sessionId, userId, 'demo-restricted');
    checks.push(performance.now() - t);
    if (!result.allowed) throw new Error('grant check refused');
  }
  console.log(`\nGrant check (one Redis GET + parse), 10,000 sequential calls: ${stats(checks)}`);

  // Time to response headers for a standard and a restricted stream: the difference is
  // what the gate adds (the check, plus the model.access audit record).
  const headersAfter = async (model: string) => {
    const t = performance.now();
    const controller = new AbortController();
    const response = await fetch(`${node.url}/api/chat/stream`, {
      method: 'POST',
      signal: controller.signal,
      headers: { origin: ORIGIN, 'content-type': 'application/json', cookie },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const elapsed = performance.now() - t;
    if (response.status !== 200) throw new Error(`${model}: ${response.status}`);
    controller.abort();
    await response.body?.cancel().catch(() => undefined);
    return elapsed;
  };
  const standard: number[] = [];
  const restricted: number[] = [];
  for (let i = 0; i < 500; i += 1) {
    standard.push(await headersAfter('demo-standard'));
    restricted.push(await headersAfter('demo-restricted'));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`Stream request to response headers, 500 each: standard ${stats(standard)}`);
  console.log(`                                          restricted ${stats(restricted)}`);
  console.log(`  added by the restricted-model gate at p50: ${(median(restricted) - median(standard)).toFixed(2)} ms (grant check + model.access audit append)`);
}

const database = await benchDatabase();
const shared = { DATABASE_URL: database.databaseUrl, DATABASE_OWNER_URL: database.databaseUrl, REDIS_KEY_PREFIX: database.redisPrefix, SESSION_SECRET: randomBytes(32).toString('hex') };
const nodeA = await startNode(shared);
const nodeB = await startNode(shared);
try {
  await revocationTrials('One node (report and socket on node A)', nodeA, nodeA);
  await revocationTrials('Two nodes (report on node A, socket on node B)', nodeA, nodeB);
  await grantCheckCost(nodeA);
} finally {
  await nodeB.close();
  await nodeA.close();
  await database.drop();
}
