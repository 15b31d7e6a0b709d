import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { verifyAuditChain } from '../audit/verify.ts';
import { lockAuditChainAndReadHead } from '../db/audit.ts';
import { createPool, query, type Pool } from '../db/pool.ts';
import { createLogger } from '../log.ts';
import { connectRedis } from '../redis.ts';
import { createTestDatabase } from '../test/harness.ts';
import { clearRedisPrefix, freePort, TEST_REDIS_URL } from '../test/env.ts';
import { ForgedRecordAlarm } from '../crypto/forgedRecordAlarm.ts';
import { RecordMac } from '../crypto/recordMac.ts';
import { AuditOutbox } from './auditOutbox.ts';

const log = createLogger('silent');
const context = { actor: null, ip: null, userAgent: 'test' };
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: Pool;
let redis: Redis;
const prefix = `argus-test:${randomBytes(6).toString('hex')}:`;
const nodeKey = { id: 'node', secret: randomBytes(32) };
const mac = new RecordMac([nodeKey]);

/** One node's outbox: its own alarm (rate limits are per node), the deployment's MAC key. */
function outboxOn(on: Pool, alarmLimits?: ConstructorParameters<typeof ForgedRecordAlarm>[2]): AuditOutbox {
  return new AuditOutbox(redis, on, log, { mac, forgedRecords: new ForgedRecordAlarm(on, log, alarmLimits) });
}

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
    const stranded = outboxOn(away);
    const first = new Date(Date.now() - 60_000);
    await stranded.queue(redis.multi(), context, revoked('g-1'), first).exec();
    await stranded.queue(redis.multi(), context, revoked('g-2')).exec();
    expect(await stranded.drain()).toBe(0);
    expect(await stranded.pending()).toBe(2);
    await away.end();

    const outbox = outboxOn(pool);
    expect(await outbox.drain()).toBe(2);
    expect(await outbox.pending()).toBe(0);
    const events = await grantEvents();
    expect(events.map((e) => e.target_id)).toEqual(['g-1', 'g-2']);
    expect(events[0]!.details).toEqual({ reason: 'admin_revoked', occurredAt: first.toISOString() });
    expect(await verifyAuditChain(pool)).toMatchObject({ intact: true });
  });

  it('appends a record once, however many nodes drain it and however often it is queued', async () => {
    const before = (await grantEvents()).length;
    const nodes = [outboxOn(pool), outboxOn(pool), outboxOn(pool)];
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
      const outbox = outboxOn(impatient);
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
    const outbox = outboxOn(pool);
    await outbox.queue(redis.multi(), context, { action: 'no.such.action' as never, outcome: 'success' }).exec();
    await outbox.queue(redis.multi(), context, revoked('g-after')).exec();
    expect(await outbox.drain()).toBe(1);
    expect((await grantEvents()).at(-1)?.target_id).toBe('g-after');
    expect(await redis.llen('audit-outbox-dead')).toBe(1);
    expect(await outbox.pending()).toBe(0);
  });

  it('appends a burst of records in one transaction, in the order they were queued', async () => {
    const outbox = outboxOn(pool);
    const before = (await grantEvents()).length;
    const ids = Array.from({ length: 60 }, (_, i) => `g-burst-${i}`);
    for (const id of ids) await outbox.queue(redis.multi(), context, revoked(id)).exec();
    const begins = vi.spyOn(pool, 'connect');
    expect(await outbox.drain()).toBe(60);
    // One connection taken for the whole burst: one BEGIN … COMMIT, not sixty.
    expect(begins).toHaveBeenCalledTimes(1);
    begins.mockRestore();
    expect((await grantEvents()).slice(before).map((e) => e.target_id)).toEqual(ids);
    expect(await outbox.pending()).toBe(0);
    expect(await verifyAuditChain(pool)).toMatchObject({ intact: true });
  });
}); 

describe('outbox records Redis alone cannot mint (threat-model G4)', () => {
  async function forgedAlarms(): Promise<Array<{ severity: string; outcome: string; details: Record<string, unknown> }>> {
    return (await query<{ severity: string; outcome: string; details: Record<string, unknown> }>(pool, 't', "SELECT severity, outcome, details FROM audit_event WHERE action = 'audit.outbox_forged_record' ORDER BY seq")).rows;
  }
  /** A record as a node queues it, with its MAC made by `signer` as a record of `type` (or none). */
  function injected(id: string, { signer = mac, type = 'audit-outbox' as const, sign = true }: { signer?: RecordMac; type?: 'audit-outbox' | 'grant'; sign?: boolean } = {}): string {
    const fields = { v: 1, id: `forged-${id}`, occurredAt: new Date().toISOString(), context, input: revoked(id) };
    return JSON.stringify(sign ? { ...fields, mac: signer.sign(type as 'audit-outbox', fields) } : fields);
  }

  it('does not append a record injected with no MAC, a wrong one, one made for a grant or under an unlisted key: it is deleted and raises a critical event', async () => {
    const outbox = outboxOn(pool);
    const before = (await forgedAlarms()).length;
    const deadBefore = await redis.llen('audit-outbox-dead');
    const genuine = JSON.parse(injected('g-genuine')) as Record<string, unknown>;
    const forged = [
      'not json',
      injected('g-no-mac', { sign: false }),
      JSON.stringify({ ...genuine, mac: `node.${randomBytes(32).toString('base64url')}` }),
      // A genuine record with its payload edited after it was queued.
      JSON.stringify({ ...genuine, input: revoked('g-edited') }),
      injected('g-grant-mac', { type: 'grant' }),
      injected('g-other-key', { signer: new RecordMac([{ id: 'node', secret: randomBytes(32) }]) }),
      injected('g-retired', { signer: new RecordMac([{ id: 'retired', secret: randomBytes(32) }]) }),
    ];
    await redis.rpush('audit-outbox', ...forged);
    await outbox.queue(redis.multi(), context, revoked('g-real')).exec();
    expect(await outbox.drain()).toBe(1);
    expect(await outbox.pending()).toBe(0);
    expect(await redis.llen('audit-outbox-dead')).toBe(deadBefore);
    const appended = (await grantEvents()).map((e) => e.target_id);
    expect(appended).toContain('g-real');
    for (const id of ['g-genuine', 'g-edited', 'g-no-mac', 'g-grant-mac', 'g-other-key', 'g-retired']) expect(appended).not.toContain(id);
    const alarms = (await forgedAlarms()).slice(before);
    expect(alarms.map((a) => a.details.reason)).toEqual(['unreadable', 'missing_mac', 'bad_mac', 'bad_mac', 'bad_mac', 'bad_mac', 'unknown_key']);
    expect(alarms.every((a) => a.severity === 'critical' && a.outcome === 'denied')).toBe(true);
    expect(await verifyAuditChain(pool)).toMatchObject({ intact: true });
  });

  it('keeps a forged record queued while its alarm cannot be recorded, then refuses it', async () => {
    const away = createPool(`postgres://postgres@127.0.0.1:${await freePort()}/argus`, log);
    try {
      await redis.rpush('audit-outbox', injected('g-while-away', { sign: false }));
      expect(await outboxOn(away).drain()).toBe(0);
      expect(await outboxOn(away).pending()).toBe(1);
    } finally {
      await away.end();
    }
    const before = (await forgedAlarms()).length;
    expect(await outboxOn(pool).drain()).toBe(0);
    expect(await redis.llen('audit-outbox')).toBe(0);
    expect((await forgedAlarms()).slice(before).map((a) => a.details.reason)).toEqual(['missing_mac']);
  });

  it('raises one alarm per record and at most so many a minute, however many forged records arrive, and says how many it held back', async () => {
    const outbox = outboxOn(pool, { perRecordMs: 600_000, perMinute: 3 });
    const before = (await forgedAlarms()).length;
    const flood = Array.from({ length: 25 }, (_, i) => injected(`g-flood-${i}`, { sign: false }));
    await redis.rpush('audit-outbox', flood[0]!, flood[0]!, ...flood);
    await outbox.drain();
    expect(await outbox.pending()).toBe(0);
    expect((await forgedAlarms()).length - before).toBe(3);
    // A minute later: a record already reported stays quiet; a new one is reported, with the count held back.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 61_000);
      await redis.rpush('audit-outbox', flood[0]!, injected('g-flood-late', { sign: false }));
      await outbox.drain();
    } finally {
      vi.useRealTimers();
    }
    const alarms = (await forgedAlarms()).slice(before);
    expect(alarms).toHaveLength(4);
    // Each alarm counts those held back since the one before: the first record's two repeats…
    expect(alarms[1]!.details).toMatchObject({ alarmsSuppressedSinceLast: 2 });
    // …then the 22 past the minute's limit and the repeat a minute later.
    expect(alarms[3]!.details).toMatchObject({ reason: 'missing_mac', alarmsSuppressedSinceLast: 23 });
    expect((await grantEvents()).map((e) => e.target_id).filter((id) => id.startsWith('g-flood'))).toEqual([]);
  });
});
