import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import type { AuditEventView } from '../../shared/audit.ts';
import { appendAuditEvents, AUDIT_CHANNEL, getAuditChainHead } from '../db/audit.ts';
import { pgErrorCode, query, type PoolClient } from '../db/pool.ts';
import { useTestDatabase } from '../test/testDatabase.ts';
import { timeOrderedBatchId } from './appender.ts';
import { appendableEvent } from './testing/auditTestKit.ts';
import { recordAuditEvent, type AuditContext } from './record.ts';
import { verifyAuditChain } from './verify.ts';

const db = useTestDatabase();

const CONTEXT: AuditContext = { actor: { id: '00000000-0000-4000-8000-0000000000aa', username: 'writer' }, ip: '10.0.0.9', userAgent: 'appender test' };
/** A denial, standalone: recorded with the pool, so it goes through the node's appender. */
const deny = (n: number, context: AuditContext = CONTEXT) =>
  recordAuditEvent(db.pool, context, { action: 'grant.denied', outcome: 'denied', model: 'demo', details: { n } });

/** Holds the chain lock on an owner connection until `release`, as another node's append in flight would. */
async function holdChainLock(): Promise<{ release: () => Promise<void> }> {
  const client: PoolClient = await db.ownerPool.connect();
  await client.query('BEGIN');
  await client.query('SELECT audit_chain_lock()');
  return {
    release: async () => {
      await client.query('COMMIT');
      client.release();
    },
  };
}

/** Waits until a backend of the server role waits for the chain lock in audit_append_many; its pid. */
async function appendWaitingForLock(): Promise<number> {
  for (let tries = 0; tries < 200; tries += 1) {
    const { rows } = await query<{ pid: number }>(
      db.ownerPool,
      't',
      `SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%audit_append_many%'`,
    );
    if (rows[0]) return rows[0].pid;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no append waited for the chain lock');
}

/** What each promise came to, without throwing. */
const outcomes = <T>(promises: Array<Promise<T>>) => Promise.allSettled(promises);

async function eventsWithMarker(marker: string): Promise<number[]> {
  const { rows } = await query<{ seq: string }>(db.pool, 't', `SELECT seq FROM audit_event WHERE details->>'marker' = $1 ORDER BY seq`, [marker]);
  return rows.map((row) => Number(row.seq));
}

describe('group commit of standalone audit events', () => {
  it('appends 300 concurrent callers in call order, contiguous, in fewer commits than events, and the chain verifies', async () => {
    const head = (await getAuditChainHead(db.pool))?.seq ?? 0;
    const events = await Promise.all(Array.from({ length: 300 }, (_, n) => deny(n)));
    const seqs = events.map((event) => event.seq);
    // Call order is chain order, with no gap and no event twice.
    expect(seqs).toEqual(Array.from({ length: 300 }, (_, i) => head + 1 + i));
    expect(events.map((event) => event.details.n)).toEqual(Array.from({ length: 300 }, (_, n) => n));
    // Each caller got its own event back, linked to the one before.
    for (let i = 1; i < events.length; i += 1) expect(events[i]!.prevHash).toBe(events[i - 1]!.hash);
    // Group commit: the rows were written by fewer transactions than there are events.
    const { rows } = await query<{ transactions: number }>(
      db.ownerPool,
      't',
      'SELECT count(DISTINCT xmin::text)::int AS transactions FROM audit_event WHERE seq BETWEEN $1::bigint AND $2::bigint',
      [head + 1, head + 300],
    );
    expect(rows[0]!.transactions).toBeLessThan(300);
    expect(await verifyAuditChain(db.pool)).toMatchObject({ intact: true, headSeq: head + 300 });
  });

  it('announces each committed batch with one argus_audit notification naming its seq range, in order', async () => {
    const listener = await db.pool.connect();
    const payloads: string[] = [];
    listener.on('notification', ({ channel, payload }) => channel === AUDIT_CHANNEL && payloads.push(payload ?? ''));
    await listener.query(`LISTEN ${AUDIT_CHANNEL}`);
    try {
      const lock = await holdChainLock();
      const first = deny(4_000);
      await appendWaitingForLock();
      // Queued behind the batch in flight: they go as the next batch, announced once.
      const rest = Array.from({ length: 9 }, (_, i) => deny(4_001 + i));
      await lock.release();
      const seqs = (await Promise.all([first, ...rest])).map((event) => event.seq);
      await vi.waitFor(() => expect(payloads).toHaveLength(2));
      expect(payloads).toEqual([`${seqs[0]}-${seqs[0]}`, `${seqs[1]}-${seqs[9]}`]);
    } finally {
      await listener.query(`UNLISTEN ${AUDIT_CHANNEL}`);
      listener.release();
    }
  });

  it('resolves a caller only once its event is committed: nothing while the batch waits, and then readable from another connection', async () => {
    const lock = await holdChainLock();
    const settled: number[] = [];
    const pending = Array.from({ length: 20 }, (_, n) => deny(1_000 + n).then((event) => (settled.push(event.seq), event)));
    await appendWaitingForLock();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Queued and in flight, but not committed: nobody has been told it was appended.
    expect(settled).toEqual([]);
    await lock.release();
    const events = await Promise.all(pending);
    // Each, once resolved, is there for any other connection (here the owner's), with its hash.
    for (const event of events) {
      const { rows } = await query<{ hash: string }>(db.ownerPool, 't', 'SELECT hash FROM audit_event WHERE seq = $1::bigint', [event.seq]);
      expect(rows).toEqual([{ hash: event.hash }]);
    }
  });

  it('rejects only the caller whose event Postgres refuses; the rest of its batch is appended, in order, and the chain stays intact', async () => {
    const head = (await getAuditChainHead(db.pool))!.seq;
    const lock = await holdChainLock();
    const first = deny(2_000);
    await appendWaitingForLock();
    // These queue behind the batch in flight and go as one batch; the fourth names an actor id that is no uuid.
    const rest = Array.from({ length: 8 }, (_, i) => deny(2_001 + i, i === 3 ? { ...CONTEXT, actor: { id: 'not-a-uuid', username: 'x' } } : CONTEXT));
    await lock.release();
    const settled = await outcomes([first, ...rest]);
    const refused = settled.filter((outcome) => outcome.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect(pgErrorCode((refused[0] as PromiseRejectedResult).reason)).toBe('22P02'); // invalid_text_representation
    expect(settled[4]!.status).toBe('rejected');
    const appended = settled.filter((outcome): outcome is PromiseFulfilledResult<AuditEventView> => outcome.status === 'fulfilled').map((outcome) => outcome.value);
    expect(appended.map((event) => event.seq)).toEqual(Array.from({ length: 8 }, (_, i) => head + 1 + i));
    expect(appended.map((event) => event.details.n)).toEqual([2_000, 2_001, 2_002, 2_003, 2_005, 2_006, 2_007, 2_008]);
    expect(await verifyAuditChain(db.pool)).toMatchObject({ intact: true, headSeq: head + 8 });
  });

  it('rejects every caller of a batch Postgres refuses as a whole, with its error, and appends nothing of it', async () => {
    const head = (await getAuditChainHead(db.pool))!.seq;
    const lock = await holdChainLock();
    const first = deny(3_000);
    await appendWaitingForLock();
    const rest = Array.from({ length: 5 }, (_, i) => deny(3_001 + i));
    // The next batch will find the function closed to the server's role (the batch in flight is past that check).
    const signature = `audit_append_many(uuid, timestamptz[], uuid[], text[], text[], text[], text[], text[], text[], text[], text[], text[], jsonb[], bytea[], bytea[])`;
    await query(db.ownerPool, 't', `REVOKE EXECUTE ON FUNCTION ${signature} FROM argus_app`);
    try {
      await lock.release();
      expect((await first).seq).toBe(head + 1);
      const settled = await outcomes(rest);
      for (const outcome of settled) {
        expect(outcome.status).toBe('rejected');
        expect(pgErrorCode((outcome as PromiseRejectedResult).reason)).toBe('42501'); // insufficient_privilege
      }
    } finally {
      await query(db.ownerPool, 't', `GRANT EXECUTE ON FUNCTION ${signature} TO argus_app`);
    }
    expect(await verifyAuditChain(db.pool)).toMatchObject({ intact: true, headSeq: head + 1 });
    // The appender carries on.
    expect((await deny(3_100)).seq).toBe(head + 2);
  });

  it('sends a batch again when its connection is lost mid-append: every event appended once, in order', async () => {
    const head = (await getAuditChainHead(db.pool))!.seq;
    const marker = randomUUID();
    const lock = await holdChainLock();
    const mark = (n: number) => recordAuditEvent(db.pool, CONTEXT, { action: 'grant.denied', outcome: 'denied', details: { marker, n } });
    const first = mark(0);
    const pid = await appendWaitingForLock();
    const rest = Array.from({ length: 6 }, (_, i) => mark(1 + i));
    // The append's connection dies while it waits for the lock (57P01 admin_shutdown to the client).
    await query(db.ownerPool, 't', 'SELECT pg_terminate_backend($1::int)', [pid]);
    await lock.release();
    const events = await Promise.all([first, ...rest]);
    expect(events.map((event) => event.details.n)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(await eventsWithMarker(marker)).toEqual(Array.from({ length: 7 }, (_, i) => head + 1 + i));
    expect(await verifyAuditChain(db.pool)).toMatchObject({ intact: true, headSeq: head + 7 });
  });
});

describe('batch ids: time-ordered, so receipts land at the right edge of their index', () => {
  it('are UUIDv7: the time in the first 48 bits, version 7, RFC 9562 variant, accepted by Postgres', async () => {
    const id = timeOrderedBatchId(0x0123456789ab);
    expect(id).toMatch(/^01234567-89ab-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(timeOrderedBatchId(0)).toMatch(/^00000000-0000-7/);
    expect(new Set(Array.from({ length: 100 }, () => timeOrderedBatchId(1)))).toHaveProperty('size', 100);
    const { rows } = await query<{ id: string }>(db.pool, 't', 'SELECT $1::uuid::text AS id', [id]);
    expect(rows[0]!.id).toBe(id);
  });

  it('sort in Postgres in the order the appender sent its batches', async () => {
    const before = new Date(Date.now() - 1).toISOString();
    // The clock stands still: batches sent within one millisecond must still sort in order.
    const stopped = vi.spyOn(Date, 'now').mockReturnValue(Date.now());
    try {
      for (let n = 0; n < 4; n += 1) await Promise.all([deny(n), deny(n)]);
    } finally {
      stopped.mockRestore();
    }
    // Receipts are the owner's (sql/000024): the server's role cannot read them.
    const { rows } = await query<{ batch_id: string }>(
      db.ownerPool,
      't',
      'SELECT batch_id::text FROM audit_append_receipt WHERE appended_at >= $1::timestamptz ORDER BY first_seq',
      [before],
    );
    expect(rows.length).toBeGreaterThanOrEqual(4);
    const ids = rows.map((row) => row.batch_id);
    const { rows: sorted } = await query<{ batch_id: string }>(db.ownerPool, 't', 'SELECT unnest($1::uuid[])::text AS batch_id ORDER BY 1', [ids]);
    expect(sorted.map((row) => row.batch_id)).toEqual(ids);
  });
});

describe('audit_append_many, called again with the same batch id (its first call committed but the answer was lost)', () => {
  it('returns what the first call appended and appends nothing twice', async () => {
    const marker = randomUUID();
    const events = [0, 1, 2].map((n) => appendableEvent({ action: 'auth.signout', details: { marker, n } }));
    const batchId = randomUUID();
    const first = await appendAuditEvents(db.pool, batchId, events);
    const again = await appendAuditEvents(db.pool, batchId, events);
    expect(again).toEqual(first);
    expect(await eventsWithMarker(marker)).toEqual(first.map((event) => event.seq));
    // A different number of events under an id already used is refused, not half-matched.
    const mismatch = await appendAuditEvents(db.pool, batchId, events.slice(0, 2)).catch((error: unknown) => error);
    expect(pgErrorCode(mismatch)).toBe('22023');
    expect((await verifyAuditChain(db.pool)).intact).toBe(true);
  });

  it('refuses an empty batch and arrays of different lengths (22023)', async () => {
    const call = (times: string[], actions: string[]) =>
      query(
        db.pool,
        't',
        `SELECT * FROM audit_append_many(gen_random_uuid(), $1::timestamptz[], '{NULL}'::uuid[], '{NULL}'::text[], $2::text[], '{NULL}'::text[], '{NULL}'::text[],
           '{success}'::text[], '{info}'::text[], '{NULL}'::text[], '{NULL}'::text[], '{NULL}'::text[], '{"{}"}'::jsonb[], '{""}'::bytea[], '{""}'::bytea[])`,
        [times, actions],
      ).catch((error: unknown) => error);
    const now = new Date().toISOString();
    expect(pgErrorCode(await call([], []))).toBe('22023');
    expect(pgErrorCode(await call([now, now], ['auth.signout', 'auth.signout']))).toBe('22023');
  });
});
