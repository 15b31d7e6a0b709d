import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../audit/verify.ts';
import { lockAuditChainAndReadHead } from '../db/audit.ts';
import { createPool, query, type Pool } from '../db/pool.ts';
import { createLogger } from '../log.ts';
import { connectRedis } from '../redis.ts';
import { createTestDatabase } from '../test/harness.ts';
import { clearRedisPrefix, freePort, TEST_REDIS_URL } from '../test/env.ts';
import { AuditOutbox } from './auditOutbox.ts';

const log = createLogger('silent');
const context = { actor: null, ip: null, userAgent: 'test' };
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: Pool;
let redis: Redis;
const prefix = `argus-test:${randomBytes(6).toString('hex')}:`;

beforeAll(async () => {
  database = await createTestDatabase();
  pool = createPool(database.url, log);
  redis = await connectRedis(TEST_REDIS_URL, prefix, log);
});
afterAll(async () => {
  redis.disconnect();
  await pool.end();
  await database.drop();
  await clearRedisPrefix(prefix);
});

async function grantEvents(): Promise<Array<{ target_id: string; details: Record<string, unknown> }>> {
  return (await query<{ target_id: string; details: Record<string, unknown> }>(pool, 't', "SELECT target_id, details FROM audit_event WHERE action = 'grant.revoked' ORDER BY seq")).rows;
}

const revoked = (id: string) => ({ action: 'grant.revoked' as const, outcome: 'success' as const, target: { type: 'grant', id }, details: { reason: 'admin_revoked' } });

describe('the audit outbox', () => {
  it('keeps records queued while Postgres cannot take them, then appends them in order with their original time', async () => {
    // A pool on a port nothing listens on: Postgres is away.
    const away = createPool(`postgres://postgres@127.0.0.1:${await freePort()}/argus`, log);
    const stranded = new AuditOutbox(redis, away, log);
    const first = new Date(Date.now() - 60_000);
    await stranded.queue(redis.multi(), context, revoked('g-1'), first).exec();
    await stranded.queue(redis.multi(), context, revoked('g-2')).exec();
    expect(await stranded.drain()).toBe(0);
    expect(await stranded.pending()).toBe(2);
    await away.end();

    const outbox = new AuditOutbox(redis, pool, log);
    expect(await outbox.drain()).toBe(2);
    expect(await outbox.pending()).toBe(0);
    const events = await grantEvents();
    expect(events.map((e) => e.target_id)).toEqual(['g-1', 'g-2']);
    expect(events[0]!.details).toEqual({ reason: 'admin_revoked', occurredAt: first.toISOString() });
    expect(await verifyAuditChain(pool)).toMatchObject({ intact: true });
  });

  it('appends a record once, however many nodes drain it and however often it is queued', async () => {
    const before = (await grantEvents()).length;
    const nodes = [new AuditOutbox(redis, pool, log), new AuditOutbox(redis, pool, log), new AuditOutbox(redis, pool, log)];
    await nodes[0]!.queue(redis.multi(), context, revoked('g-3')).exec();
    // A node that died between appending a record and removing it leaves it queued: simulate by queuing the same record twice.
    const [raw] = await redis.lrange('audit-outbox', 0, 0);
    await redis.rpush('audit-outbox', raw!);
    for (let i = 0; i < 5; i += 1) await nodes[i % 3]!.queue(redis.multi(), context, revoked(`g-many-${i}`)).exec();
    await Promise.all(nodes.flatMap((node) => [node.drain(), node.drain()]));
    await Promise.all(nodes.map((node) => node.drain()));
    const after = await grantEvents();
    expect(after.slice(before).map((e) => e.target_id)).toEqual(['g-3', 'g-many-0', 'g-many-1', 'g-many-2', 'g-many-3', 'g-many-4']);
    expect(await nodes[0]!.pending()).toBe(0);
    expect(await verifyAuditChain(pool)).toMatchObject({ intact: true });
  });

  it('keeps a record Postgres refused for a passing reason (the chain lock not available) and appends it later', async () => {
    // A node whose sessions give up on a lock after 100 ms, while another transaction holds the chain's lock.
    const impatient = createPool(`${database.url}?options=${encodeURIComponent('-c lock_timeout=100')}`, log);
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await lockAuditChainAndReadHead(holder);
      const outbox = new AuditOutbox(redis, impatient, log);
      await outbox.queue(redis.multi(), context, revoked('g-locked')).exec();
      expect(await outbox.drain()).toBe(0);
      expect(await outbox.pending()).toBe(1);
      expect(await redis.llen('audit-outbox-dead')).toBe(0);
      await holder.query('ROLLBACK');
      expect(await outbox.drain()).toBe(1);
      expect((await grantEvents()).at(-1)?.target_id).toBe('g-locked');
    } finally {
      holder.release();
      await impatient.end();
    }
  });

  it('sets aside a record that can never be appended instead of blocking the ones behind it', async () => {
    const outbox = new AuditOutbox(redis, pool, log);
    await redis.rpush('audit-outbox', 'not json');
    await outbox.queue(redis.multi(), context, { action: 'no.such.action' as never, outcome: 'success' }).exec();
    await outbox.queue(redis.multi(), context, revoked('g-after')).exec();
    expect(await outbox.drain()).toBe(1);
    expect((await grantEvents()).at(-1)?.target_id).toBe('g-after');
    expect(await redis.llen('audit-outbox-dead')).toBe(2);
    expect(await outbox.pending()).toBe(0);
  });
});
