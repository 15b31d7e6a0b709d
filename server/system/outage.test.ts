/**
 * Redis and Postgres stopped and started again while Argus is in use (issue #9): requests
 * fail closed with clear 503s while a service is away, everything recovers by itself when
 * it returns, and no change reported as done loses its audit record.
 */
import { randomBytes } from 'node:crypto';
import { Agent, get, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantResponse, SessionResponse } from '../../shared/api.ts';
import type { AuditEventView } from '../../shared/audit.ts';
import { verifyAuditChain } from '../audit/verify.ts';
import { createAdminClient, query } from '../db/pool.ts';
import { exposition } from '../metrics.ts';
import { createTestDatabase, enrollUser, errorCode, signIn, startTestNode, TestClient, type TestNode } from '../test/harness.ts';
import { clearRedisPrefix, TEST_REDIS_URL } from '../test/env.ts';
import type { SoftAuthenticator } from '../test/softAuthenticator.ts';
import { ThrowawayPostgres } from '../test/throwawayPostgres.ts';
import { ThrowawayRedis } from '../test/throwawayRedis.ts';
import { TestSocket } from '../test/wsClient.ts';

const FAST = { SIGNIN_RATE_PER_MINUTE: '1000', SIGNIN_FAILURES_PER_USERNAME: '1000' };

async function unlock(client: TestClient, authenticator: SoftAuthenticator): Promise<string> {
  const options = await client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options');
  expect(options.status).toBe(200);
  const granted = await client.post<GrantResponse>('/api/verify-key-ownership', { response: authenticator.assert(options.body.options), presenceMode: 'assertion' });
  expect(granted.status).toBe(200);
  return granted.body.grant!.id;
}

function chatRestricted(client: TestClient): Promise<Response> {
  return fetch(`${client.baseUrl}/api/chat/stream`, {
    method: 'POST',
    headers: { origin: client.origin, 'content-type': 'application/json', cookie: client.cookie! },
    body: JSON.stringify({ model: 'demo-restricted', messages: [{ role: 'user', content: 'hello' }] }),
  });
}

/** /readyz on a connection of its own, as a load balancer's health check makes it. */
function readiness(node: TestNode): Promise<{ status: number; body: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    get(`${node.url}/readyz`, { agent: false }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += String(chunk)));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, string> }));
    }).on('error', reject);
  });
}

/** Makes one request that needs the session on a keep-alive connection; true if the server keeps the connection afterwards. */
async function keptAlive(node: TestNode, cookie: string): Promise<boolean> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const status = await new Promise<number>((resolve, reject) => {
    request(`${node.url}/api/session`, { agent, headers: { cookie } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
  expect(status).toBe(503);
  await new Promise((r) => setTimeout(r, 200));
  const open = Object.values(agent.freeSockets).flat().length === 1;
  agent.destroy();
  return open;
}

const onNode = (node: TestNode, client: TestClient) => Object.assign(new TestClient(node.url, client.origin), { cookie: client.cookie });

describe('Redis restarted during activity (two nodes)', () => {
  let redis: ThrowawayRedis;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let nodeA: TestNode;
  let nodeB: TestNode;

  beforeAll(async () => {
    // Persistent like a production Redis (AOF): sessions and grants outlive the restart.
    redis = await ThrowawayRedis.start({ persistent: true });
    database = await createTestDatabase();
    const shared = { databaseUrl: database.url, redisPrefix: `argus-test:${randomBytes(6).toString('hex')}:`, redisUrl: redis.url };
    nodeA = await startTestNode(FAST, shared);
    nodeB = await startTestNode(FAST, shared);
  });
  afterAll(async () => {
    await nodeA?.destroy();
    await nodeB?.destroy();
    await redis?.destroy();
    await database?.drop();
  });

  it('fails closed with stable 503 codes while Redis is away, and sessions, grants, the bus and the hub recover by themselves', async () => {
    const rosa = await enrollUser(nodeA, { username: 'rosa', password: 'the owl and the pussycat' });
    const grantId = await unlock(rosa.client, rosa.authenticator);

    await redis.stop();
    const signin = await nodeA.client().post('/api/auth/signin', { username: 'rosa', password: 'the owl and the pussycat' });
    expect([signin.status, errorCode(signin)]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    // The grant check cannot be made, so restricted access is denied (invariant 4).
    const restricted = await chatRestricted(rosa.client);
    expect(restricted.status).toBe(503);
    expect(['SERVICE_UNAVAILABLE', 'GRANT_CHECK_UNAVAILABLE']).toContain(((await restricted.json()) as { error: { code: string } }).error.code);
    const options = await rosa.client.post('/api/verify-key-ownership/options');
    expect([options.status, errorCode(options)]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    await expect(TestSocket.open(nodeB.url, { cookie: rosa.client.cookie, origin: rosa.client.origin })).rejects.toMatchObject({ status: 503 });
    // A 503 is an ordinary answer: the session it could not load is left alone and the connection stays open.
    expect(await keptAlive(nodeA, rosa.client.cookie!)).toBe(true);
    for (const node of [nodeA, nodeB]) {
      const ready = await readiness(node);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ redis: 'down', postgres: 'ok' });
    }

    await redis.start();
    for (const node of [nodeA, nodeB]) {
      await expect.poll(async () => (await readiness(node)).status, { timeout: 15_000, interval: 200 }).toBe(200);
    }
    // The same session and grant, on either node, with no one signing in again.
    expect((await onNode(nodeB, rosa.client).get<SessionResponse>('/api/session')).body.signedIn).toBe(true);
    expect((await onNode(nodeB, rosa.client).get<GrantResponse>('/api/grants/current')).body.grant?.id).toBe(grantId);
    // B re-subscribed to the bus: a revocation made on A reaches a socket held by B.
    const socketOnB = await TestSocket.open(nodeB.url, { cookie: rosa.client.cookie, origin: rosa.client.origin });
    expect((await rosa.client.request('DELETE', '/api/grants/current', { reason: 'locked_by_user' })).status).toBe(204);
    expect(await socketOnB.next('GRANT_REVOKED', 5_000)).toMatchObject({ grantId, reason: 'locked_by_user' });
    socketOnB.close();
    expect((await chatRestricted(rosa.client)).status).toBe(403);
    // A fresh sign-in works again too.
    await signIn(nodeA, { username: 'rosa', password: 'the owl and the pussycat', authenticator: rosa.authenticator });
  });
});

describe('Postgres restarted during activity', () => {
  let postgres: ThrowawayPostgres;
  let node: TestNode;
  const redisPrefix = `argus-test:${randomBytes(6).toString('hex')}:`;

  beforeAll(async () => {
    postgres = await ThrowawayPostgres.start();
    const admin = createAdminClient(postgres.url());
    await admin.connect();
    await admin.query('CREATE DATABASE argus');
    await admin.end();
    node = await startTestNode(FAST, { databaseUrl: postgres.url('argus'), redisPrefix });
  });
  afterAll(async () => {
    await node?.close();
    await postgres?.destroy();
    await clearRedisPrefix(redisPrefix, TEST_REDIS_URL);
  });

  it('fails closed with clear 503s, keeps every ended grant’s audit record, and the pool and both listeners recover', async () => {
    const admin = await enrollUser(node, { username: 'ada', role: 'admin', password: 'the quangle wangle hat' });
    const rosa = await enrollUser(node, { username: 'rosa', password: 'the owl and the pussycat' });
    const grantId = await unlock(rosa.client, rosa.authenticator);
    const rosaSocket = await TestSocket.open(node.url, { cookie: rosa.client.cookie, origin: rosa.client.origin });
    await expect.poll(() => node.deps.rows.users.isLive).toBe(true);
    // What the unlock queued (its key challenge's record) is in the chain before Postgres goes.
    await node.deps.auditOutbox.drain();
    expect(await node.deps.auditOutbox.pending()).toBe(0);

    await postgres.stop();
    const signin = await node.client().post('/api/auth/signin', { username: 'rosa', password: 'the owl and the pussycat' });
    expect([signin.status, errorCode(signin)]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    const ready = await readiness(node);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ postgres: 'down', redis: 'ok' });
    // The row cache stops trusting itself the moment its change feed is gone.
    await expect.poll(() => node.deps.rows.users.isLive).toBe(false);
    const session = await rosa.client.get('/api/session');
    expect([session.status, errorCode(session)]).toEqual([503, 'SERVICE_UNAVAILABLE']);
    expect((await chatRestricted(rosa.client)).status).toBe(503);

    // A grant ends while Postgres is away (an admin's revocation, made in Redis): access is
    // gone and the session hears of it at once; the audit record waits in the outbox.
    const endedAt = new Date();
    expect(await node.deps.grants.endForUser(rosa.userId, 'admin_revoked', { actor: { id: admin.userId, username: 'ada' }, ip: '203.0.113.9', userAgent: 'test' })).toBe(1);
    expect(await rosaSocket.next('GRANT_REVOKED')).toMatchObject({ grantId, reason: 'admin_revoked' });
    expect(await node.deps.redis.exists(`sgrant:${rosa.client.sessionId}`)).toBe(0);
    expect(await node.deps.auditOutbox.pending()).toBe(1);
    expect((await exposition()).body).toMatch(/^argus_audit_outbox_pending 1$/m);

    await postgres.start();
    await expect.poll(async () => (await readiness(node)).status, { timeout: 15_000, interval: 200 }).toBe(200);
    // The drainer appends the queued record by itself, with the time the grant really ended.
    const revoked = async () =>
      (await query<{ details: Record<string, unknown>; actor_username: string | null; ip: string | null }>(
        node.deps.pool,
        't',
        "SELECT details, actor_username, ip FROM audit_event WHERE action = 'grant.revoked' AND target_id = $1",
        [grantId],
      )).rows;
    await expect.poll(revoked, { timeout: 10_000, interval: 200 }).toHaveLength(1);
    const [record] = await revoked();
    expect(record).toMatchObject({ actor_username: 'ada', ip: '203.0.113.9', details: { reason: 'admin_revoked', userId: rosa.userId } });
    expect(Math.abs(Date.parse(String(record!.details.occurredAt)) - endedAt.getTime())).toBeLessThan(2_000);
    expect(await node.deps.auditOutbox.pending()).toBe(0);
    expect(await verifyAuditChain(node.deps.pool)).toMatchObject({ intact: true });

    // The row-change listener is back, and so is the audit feed (an event committed now reaches admins live).
    await expect.poll(() => node.deps.rows.users.isLive, { timeout: 10_000 }).toBe(true);
    const adminSocket = await TestSocket.open(node.url, { cookie: admin.client.cookie, origin: admin.client.origin });
    await expect
      .poll(
        async () => {
          await node.client().post('/api/auth/signin', { username: 'rosa', password: 'not the password at all' });
          return adminSocket.events.some((e) => e.type === 'SECURITY_EVENT' && (e.event as AuditEventView).action === 'auth.signin_failed');
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBe(true);
    adminSocket.close();
    rosaSocket.close();
    // The pool serves requests again: a full sign-in and a new grant.
    const again = await signIn(node, { username: 'rosa', password: 'the owl and the pussycat', authenticator: rosa.authenticator });
    await unlock(again, rosa.authenticator);
  });
});
