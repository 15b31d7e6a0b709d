import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_FORMATS, type AuditEventView } from '../../../shared/audit.ts';
import { searchAuditEventsAscending } from '../../db/audit.ts';
import type { Pool, Queryable } from '../../db/pool.ts';
import { useTestDatabase } from '../../test/testDatabase.ts';
import { seedChain } from '../testing/seedChain.ts';
import { EXPORT_WRITERS } from './formats.ts';
import { BatchBytes, EXPORT_BATCH, ExportAborted, streamAuditExport } from './streamExport.ts';

const EVENTS = 2 * EXPORT_BATCH + 1_234;

const testDb = useTestDatabase();
beforeAll(async () => {
  await seedChain(testDb.ownerPool, EVENTS);
});

/** The pool, counting the queries run through it. */
function counting(db: Pool): { db: Queryable; queries: () => number } {
  let count = 0;
  const proxy = new Proxy(db, {
    get(target, property, receiver) {
      if (property === 'query') return (...args: unknown[]) => ((count += 1), (target.query as (...a: unknown[]) => unknown)(...args));
      return Reflect.get(target, property, receiver);
    },
  });
  return { db: proxy, queries: () => count };
}

/** A sink that accepts nothing until `release()`, like a client that stopped reading. */
function stalledSink() {
  const held: Array<() => void> = [];
  const received: Buffer[] = [];
  let flowing = false;
  const sink = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk);
      if (flowing) callback();
      else held.push(callback);
    },
  });
  return {
    sink,
    received,
    release() {
      flowing = true;
      for (const callback of held.splice(0)) callback();
    },
  };
}

describe('streamAuditExport', () => {
  it('stops reading while the client is not reading (backpressure), then finishes', async () => {
    const { db, queries } = counting(testDb.pool);
    const stalled = stalledSink();
    const done = streamAuditExport({ db, sink: stalled.sink, format: 'jsonl', where: {} });
    // One batch written, one read ahead; then it waits for the sink to drain.
    await expect.poll(queries).toBe(2);
    await sleep(300);
    expect(queries()).toBe(2);
    expect(stalled.received).toHaveLength(1);
    stalled.release();
    const summary = await done;
    expect(queries()).toBe(3);
    expect(summary).toMatchObject({ eventCount: EVENTS, firstSeq: 1, lastSeq: EVENTS });
    const bytes = Buffer.concat(stalled.received);
    expect(summary.fileBytes).toBe(bytes.length);
    expect(summary.fileSha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(bytes.toString('utf8').split('\n').filter(Boolean)).toHaveLength(EVENTS);
  });

  it('gives up when the client goes away', async () => {
    const stalled = stalledSink();
    const done = streamAuditExport({ db: testDb.pool, sink: stalled.sink, format: 'csv', where: {} });
    await expect.poll(() => stalled.received.length).toBe(1);
    stalled.sink.destroy();
    await expect(done).rejects.toBeInstanceOf(ExportAborted);
  });

  it('exports a seq range and filters in chain order', async () => {
    const sink = stalledSink();
    sink.release();
    const summary = await streamAuditExport({ db: testDb.pool, sink: sink.sink, format: 'jsonl', where: { fromSeq: 4_990, toSeq: 5_010, action: 'auth.signin' } });
    const seqs = Buffer.concat(sink.received).toString('utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { seq: number; action: string }));
    expect(seqs.every((e) => e.action === 'auth.signin')).toBe(true);
    expect(seqs.map((e) => e.seq)).toEqual([...seqs.map((e) => e.seq)].sort((a, b) => a - b));
    expect(summary.eventCount).toBe(seqs.length);
    expect(seqs.length).toBeGreaterThan(0);
  });
});

describe('streamed bytes', () => {
  it('are the header and every record in chain order, in UTF-8, for every format', async () => {
    const events: AuditEventView[] = [];
    for (let batch = await searchAuditEventsAscending(testDb.pool, {}, 0, EXPORT_BATCH); batch.length > 0; batch = await searchAuditEventsAscending(testDb.pool, {}, batch.at(-1)!.seq, EXPORT_BATCH)) {
      events.push(...batch);
    }
    for (const format of EXPORT_FORMATS) {
      const sink = stalledSink();
      sink.release();
      const summary = await streamAuditExport({ db: testDb.pool, sink: sink.sink, format, where: {} });
      const writer = EXPORT_WRITERS[format];
      const expected = Buffer.from(writer.header + events.map((event) => writer.record(event)).join(''), 'utf8');
      expect(Buffer.concat(sink.received).equals(expected), format).toBe(true);
      expect(summary.fileSha256).toBe(createHash('sha256').update(expected).digest('hex'));
    }
  });

  it('encode text of every width across encoding steps and growth as one UTF-8 encoding of the whole would', () => {
    const records = [
      'ascii\n',
      'é ü ß\n',
      '名前 \u2028\n',
      '\ud83d\ude00 emoji\n',
      'lone \ud800 surrogate\n',
      `${'x'.repeat(70_000)}\n`,
      ...Array.from({ length: 5_000 }, (_, i) => `${i} zoë 😀 ${'y'.repeat(i % 50)}\n`),
    ];
    // Far too small to start with: it grows, keeping what it has encoded.
    const bytes = new BatchBytes(16);
    for (const record of records) bytes.add(record);
    expect(bytes.finish().equals(Buffer.from(records.join(''), 'utf8'))).toBe(true);
    const empty = new BatchBytes(16);
    expect(empty.finish()).toHaveLength(0);
  });
});
