import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionResponse } from '../../shared/api.ts';
import { enrollUser, errorCode, startTestNode, type TestNode } from '../test/harness.ts';
import { ThrowawayRedis } from '../test/throwawayRedis.ts';
import { createTestDatabase } from '../test/harness.ts';
import { createPool } from '../db/pool.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger } from '../log.ts';

describe('when Redis is down', () => {
  let redis: ThrowawayRedis;
  let node: TestNode;

  beforeAll(async () => {
    redis = await ThrowawayRedis.start();
    node = await startTestNode({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await node.destroy();
    await redis.stop();
  });

  it('fails closed with a clear 503, says so on /readyz, and recovers by itself', async () => {
    const { client } = await enrollUser(node, { username: 'erin', password: 'twelve brass turtles' });
    expect((await client.get<SessionResponse>('/api/session')).body.signedIn).toBe(true);

    await redis.stop();
    const signin = await node.client().post('/api/auth/signin', { username: 'erin', password: 'twelve brass turtles' });
    expect(signin.status).toBe(503);
    expect(errorCode(signin)).toBe('SERVICE_UNAVAILABLE');
    const session = await client.get('/api/session');
    expect(session.status).toBe(503);
    const ready = await fetch(`${node.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ redis: 'down', postgres: 'ok' });

    await redis.start();
    // ioredis reconnects on its own (at most every 2 s).
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      await new Promise((r) => setTimeout(r, 250));
      status = (await fetch(`${node.url}/readyz`)).status;
    }
    expect(status).toBe(200);
    const again = await node.client().post('/api/auth/signin', { username: 'erin', password: 'twelve brass turtles' });
    expect(again.status).toBe(200);
  });
});

describe('migrations', () => {
  it('are applied once when two processes migrate at the same time', async () => {
    const database = await createTestDatabase();
    const log = createLogger('silent');
    // As the owner: migrations are never applied as the server's role (sql/000015).
    const pools = [createPool(database.ownerUrl, log), createPool(database.ownerUrl, log)];
    try {
      // The template is already migrated: drop the record so both see every migration as pending.
      await pools[0]!.query('DROP SCHEMA public CASCADE');
      await pools[0]!.query('CREATE SCHEMA public');
      const results = await Promise.all(pools.map((pool) => migrate(pool, log)));
      expect(results.map((r) => r.length).sort()).toEqual([0, results.flat().length]);
      expect(results.flat().length).toBeGreaterThan(0);
      const { rows } = await pools[0]!.query('SELECT count(*)::int AS n FROM schema_migration');
      expect(rows[0].n).toBe(results.flat().length);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await database.drop();
    }
  });
});
