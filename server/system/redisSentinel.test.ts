/**
 * Redis Sentinel (REDIS_SENTINELS): a node finds the master through a real sentinel, and
 * when the master dies and the sentinel promotes its replica, the node follows by itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionResponse } from '../../shared/api.ts';
import { loadConfig } from '../config.ts';
import { createTestDatabase, enrollUser, signIn, startTestNode, type TestNode } from '../test/harness.ts';
import { freePort } from '../test/env.ts';
import { ThrowawayRedis } from '../test/throwawayRedis.ts';

async function ask(port: number, ...command: [string, ...string[]]): Promise<unknown> {
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(...command);
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

/** Polls until `check` is true (expect.poll only works inside a test). */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function readyStatus(node: TestNode): Promise<number> {
  return new Promise((resolve) => {
    get(`${node.url}/readyz`, { agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).on('error', () => resolve(0));
  });
}

describe('configuration', () => {
  it('reads sentinels as host:port pairs and needs REDIS_URL with them', () => {
    const base = { ARGUS_DATA_DIR: '/tmp/argus-config-test', REDIS_URL: 'redis://:secret@unused:6379/2' };
    expect(loadConfig({ ...base, REDIS_SENTINELS: '10.0.0.1:26379,[::1]:26380', REDIS_SENTINEL_NAME: 'argus' }).redisSentinel).toEqual({
      sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: '::1', port: 26380 }],
      name: 'argus',
      password: null,
    });
    expect(loadConfig(base).redisSentinel).toBeNull();
    expect(() => loadConfig({ ...base, REDIS_SENTINELS: '10.0.0.1' })).toThrow(/REDIS_SENTINELS: comma-separated host:port/);
    expect(() => loadConfig({ ARGUS_DATA_DIR: '/tmp/argus-config-test', REDIS_SENTINELS: '10.0.0.1:26379' })).toThrow(/REDIS_SENTINELS: needs REDIS_URL/);
  });
});

describe('through a real Redis Sentinel', () => {
  let master: ThrowawayRedis;
  let replica: ChildProcess;
  let sentinel: ChildProcess;
  let replicaPort: number;
  let dir: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let node: TestNode;

  beforeAll(async () => {
    master = await ThrowawayRedis.start();
    replicaPort = await freePort();
    dir = mkdtempSync(path.join(tmpdir(), 'argus-sentinel-'));
    replica = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(replicaPort), '--dir', dir, '--save', '', '--appendonly', 'no', '--replicaof', '127.0.0.1', String(master.port)], { stdio: 'ignore' });
    await until(async () => String(await ask(replicaPort, 'INFO', 'replication')).includes('master_link_status:up'), 'the replica to sync');
    const sentinelPort = await freePort();
    writeFileSync(
      path.join(dir, 'sentinel.conf'),
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor argus 127.0.0.1 ${master.port} 1`,
        'sentinel down-after-milliseconds argus 1000',
        'sentinel failover-timeout argus 5000',
      ].join('\n'),
    );
    sentinel = spawn('redis-server', [path.join(dir, 'sentinel.conf'), '--sentinel'], { stdio: 'ignore' });
    // The sentinel knows the master and has found its replica.
    await until(async () => ((await ask(sentinelPort, 'SENTINEL', 'REPLICAS', 'argus')) as unknown[] | null)?.length === 1, 'the sentinel to find the replica');
    database = await createTestDatabase();
    node = await startTestNode(
      { REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`, REDIS_SENTINEL_NAME: 'argus', SIGNIN_RATE_PER_MINUTE: '1000' },
      // REDIS_URL's host and port are never used with sentinels: nothing listens on port 1.
      { databaseUrl: database.url, redisPrefix: `argus-test:${randomBytes(6).toString('hex')}:`, redisUrl: 'redis://127.0.0.1:1' },
    );
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    for (const child of [sentinel, replica]) {
      if (child && child.exitCode === null) await new Promise<void>((resolve) => child.once('exit', () => resolve()).kill('SIGKILL'));
    }
    await master?.destroy();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the master through the sentinel, and follows a failover with sessions intact', async () => {
    const rosa = await enrollUser(node, { username: 'rosa', password: 'the owl and the pussycat' });
    expect(await readyStatus(node)).toBe(200);

    await master.stop();
    // The sentinel promotes the replica (it held every write); the node reconnects to it by itself.
    await expect.poll(async () => String(await ask(replicaPort, 'ROLE')).startsWith('master'), { timeout: 20_000, interval: 250 }).toBe(true);
    await expect.poll(() => readyStatus(node), { timeout: 20_000, interval: 250 }).toBe(200);
    await expect.poll(async () => (await rosa.client.get<SessionResponse>('/api/session')).body?.signedIn, { timeout: 10_000, interval: 250 }).toBe(true);
    await signIn(node, { username: 'rosa', password: 'the owl and the pussycat', authenticator: rosa.authenticator });
  }, 60_000);
});
