import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuditEventView } from '../../shared/audit.ts';
import { recordAuditEvent, SYSTEM_CONTEXT } from '../audit/record.ts';
import { AUDIT_CHANNEL, parseAuditNotification } from '../db/audit.ts';
import { withTransaction, type Pool } from '../db/pool.ts';
import { createLogger } from '../log.ts';
import { useTestDatabase } from '../test/testDatabase.ts';
import { auditFeed } from './auditFeed.ts';
import { SharedChannel, startPgListener } from './pgListener.ts';

const db = useTestDatabase();
const silent = createLogger('silent');
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** The pool, counting the queries made on it. */
function countingPool(pool: Pool): { pool: Pool; queries: () => number } {
  let count = 0;
  const counted = new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'query') {
        return (...args: Parameters<Pool['query']>) => {
          count += 1;
          return (target.query as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  return { pool: counted, queries: () => count };
}

const append = (n: number) => recordAuditEvent(db.pool, SYSTEM_CONTEXT, { action: 'model.access', outcome: 'success', model: 'demo', details: { n } });

describe('the live audit feed', () => {
  it('reads a committed event and hands it on while this node has staff sockets, and reads nothing while it has none', async () => {
    const event = await recordAuditEvent(db.pool, SYSTEM_CONTEXT, { action: 'auth.signout', outcome: 'success' });
    const { pool, queries } = countingPool(db.pool);
    const received: AuditEventView[] = [];
    let staffConnected = false;
    const onEvent = vi.fn((view: AuditEventView) => received.push(view));
    const feed = auditFeed({ pool, log: silent, wanted: () => staffConnected, onEvent });

    feed(String(event.seq));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(queries()).toBe(0);
    expect(onEvent).not.toHaveBeenCalled();

    const next = await recordAuditEvent(db.pool, SYSTEM_CONTEXT, { action: 'auth.signout', outcome: 'success' });
    staffConnected = true;
    feed(String(next.seq));
    await vi.waitFor(() => expect(onEvent).toHaveBeenCalledTimes(1));
    // One read for the announced range; the event passed over while nobody wanted it is not sent late.
    expect(queries()).toBe(1);
    expect(received.map((view) => view.seq)).toEqual([next.seq]);
    expect(received[0]).toMatchObject({ action: 'auth.signout', hash: next.hash });
  });

  it('hands on every event of a group-committed batch, announced once, and reads the events of a missed notification with the next range', async () => {
    const events = [];
    for (let i = 0; i < 6; i += 1) events.push(await append(i));
    const seqs = events.map((event) => event.seq);
    const received: number[] = [];
    const feed = auditFeed({ pool: db.pool, log: silent, wanted: () => true, onEvent: (view) => received.push(view.seq), readLimit: 2 });

    feed(`${seqs[0]}-${seqs[1]}`);
    await vi.waitFor(() => expect(received).toEqual(seqs.slice(0, 2)));
    // The notification of seqs[2] was lost (the listener was reconnecting): the next range brings it.
    feed(`${seqs[3]}-${seqs[5]}`);
    await vi.waitFor(() => expect(received).toEqual(seqs));
    // A repeated or older range sends nothing twice.
    feed(`${seqs[0]}-${seqs[5]}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received).toEqual(seqs);
  });

  it('ignores a payload that names no seq range', async () => {
    const { pool, queries } = countingPool(db.pool);
    const onEvent = vi.fn();
    const feed = auditFeed({ pool, log: silent, wanted: () => true, onEvent });
    for (const payload of ['', 'abc', '0', '-3', '5-4', '1-2-3', '99999999999999999999']) feed(payload);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(queries()).toBe(0);
    expect(onEvent).not.toHaveBeenCalled();
  });

  it('through a real LISTEN connection, gets every event once and in chain order while many writers append, standalone and in transactions', async () => {
    const received: AuditEventView[] = [];
    const channel = new SharedChannel(AUDIT_CHANNEL, silent);
    channel.subscribe(auditFeed({ pool: db.pool, log: silent, wanted: () => true, onEvent: (view) => received.push(view) }));
    let live = false;
    stops.push(startPgListener({ databaseUrl: db.database.url, log: silent, channels: { [AUDIT_CHANNEL]: channel.dispatch }, onLive: (now) => (live = now) }));
    await vi.waitFor(() => expect(live).toBe(true));

    const appended = await Promise.all(
      Array.from({ length: 200 }, (_, n) =>
        n % 25 === 0
          ? withTransaction(db.pool, (client) => recordAuditEvent(client, SYSTEM_CONTEXT, { action: 'model.access', outcome: 'success', details: { n } }))
          : append(n),
      ),
    );
    const seqs = appended.map((event) => event.seq).sort((a, b) => a - b);
    await vi.waitFor(() => expect(received.length).toBeGreaterThanOrEqual(seqs.length), { timeout: 5_000 });
    expect(received.map((view) => view.seq)).toEqual(seqs);
    const bySeq = new Map(appended.map((event) => [event.seq, event]));
    for (const view of received) expect(view.hash).toBe(bySeq.get(view.seq)!.hash);
  });
});

describe('argus_audit payloads', () => {
  it('name one seq or a range, and nothing else', () => {
    expect(parseAuditNotification('42')).toEqual({ firstSeq: 42, lastSeq: 42 });
    expect(parseAuditNotification('7-19')).toEqual({ firstSeq: 7, lastSeq: 19 });
    for (const payload of ['', '0', '07', '-1', '3-2', '1-', '1-2-3', ' 1', '1.5', '99999999999999999']) expect(parseAuditNotification(payload)).toBeNull();
  });
});

describe('a shared channel', () => {
  it('hands each payload to every subscriber, even when one throws, until it unsubscribes', () => {
    const channel = new SharedChannel(AUDIT_CHANNEL, silent);
    const heard: string[] = [];
    const unsubscribe = channel.subscribe((payload) => heard.push(`a:${payload}`));
    channel.subscribe(() => {
      throw new Error('a broken subscriber');
    });
    channel.subscribe((payload) => heard.push(`c:${payload}`));
    channel.dispatch('1-8');
    unsubscribe();
    channel.dispatch('9');
    expect(heard).toEqual(['a:1-8', 'c:1-8', 'c:9']);
  });
});
