import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_CHANNEL, getAuditChainHead, insertCheckpoint, listAuditEventsAscending, listCheckpointsAscending } from '../../db/audit.ts';
import { query } from '../../db/pool.ts';
import { createLogger } from '../../log.ts';
import { registry } from '../../metrics.ts';
import { SharedChannel } from '../../realtime/pgListener.ts';
import { useTestDatabase } from '../../test/testDatabase.ts';
import { signCheckpoint } from '../checkpoint.ts';
import { eventJson } from '../export/formats.ts';
import { recordAuditEvent } from '../record.ts';
import { AuditSigner } from '../signingKey.ts';
import { tamper } from '../testing/auditTestKit.ts';
import { SINK_PROBE_RECORDS, startAuditSinkDelivery, type AuditSinkDelivery, type DeliveryTuning } from './delivery.ts';
import { checkpointLine } from './records.ts';
import type { HttpSinkConfig } from './sinkConfig.ts';
import { sinkDefinition, startAuditSinks } from './sinks.ts';
import { readAuditSinkStatuses } from './status.ts';
import { startHttpReceiver, type ReceivedRequest, type TestHttpReceiver } from './testing/httpReceiver.ts';

const db = useTestDatabase();
const TOKEN = 'sink-token-0d6f3b2e-5a8c-4e71-b9d4-3c2a1f7e6b50';
const signer = AuditSigner.fromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
const CONTEXT = { actor: { id: '00000000-0000-4000-8000-000000000001', username: 'writer' }, ip: '10.0.0.1', userAgent: 'test' };
/** Small batches and short waits, so a test sees many batches, failures and retries in little time. */
const FAST: Partial<DeliveryTuning> = { maxBatchRecords: 25, pollMs: 50, busyRetryMs: 50, coalesceMs: 5, backoffBaseMs: 20, backoffCapMs: 100 };
const silent = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

const running: Array<{ stop(): Promise<void> }> = [];
const receivers: TestHttpReceiver[] = [];

beforeEach(async () => {
  // Each test starts from an empty chain and no cursor (the owner may; the server's role may not).
  await tamper(db.ownerPool, 'DELETE FROM audit_event');
  await tamper(db.ownerPool, 'DELETE FROM audit_checkpoint');
  await query(db.pool, 'test_sink_reset', 'DELETE FROM audit_sink_cursor');
});
afterEach(async () => {
  for (const delivery of running.splice(0)) await delivery.stop();
  for (const receiver of receivers.splice(0)) await receiver.halt();
});

async function receiver(): Promise<TestHttpReceiver> {
  const started = await startHttpReceiver({ token: TOKEN });
  receivers.push(started);
  return started;
}

const httpSink = (url: string, overrides: Partial<HttpSinkConfig> = {}): HttpSinkConfig => ({
  kind: 'http',
  url,
  token: TOKEN,
  authScheme: 'Bearer',
  envelope: 'ndjson',
  recordFormat: 'jsonl',
  ...overrides,
});

function deliver(url: string, tuning: Partial<DeliveryTuning> = FAST, log = silent): AuditSinkDelivery {
  const delivery = startAuditSinkDelivery({ databaseUrl: db.database.url, sinks: [sinkDefinition(httpSink(url))], log, tuning });
  running.push(delivery);
  return delivery;
}

async function append(count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) await recordAuditEvent(db.pool, CONTEXT, { action: 'model.access', outcome: 'success', model: 'demo', details: { n: i } });
}

/** Signs the chain head as the checkpoint timer would. */
async function signHead() {
  const head = await getAuditChainHead(db.pool);
  const checkpoint = signCheckpoint(signer, head!);
  await insertCheckpoint(db.pool, checkpoint);
  return checkpoint;
}

async function cursor(): Promise<{ deliveredSeq: number; deliveredCheckpointId: number; failures: number; lastError: string | null }> {
  const { rows } = await query<{ delivered_seq: string; delivered_checkpoint_id: string; consecutive_failures: number; last_error: string | null }>(
    db.pool,
    'test_sink_cursor',
    "SELECT delivered_seq, delivered_checkpoint_id, consecutive_failures, last_error FROM audit_sink_cursor WHERE sink_id = 'http'",
  );
  const row = rows[0];
  // No cursor yet: the delivery has not started; it starts at the beginning of the chain.
  if (!row) return { deliveredSeq: 0, deliveredCheckpointId: 0, failures: 0, lastError: null };
  return { deliveredSeq: Number(row.delivered_seq), deliveredCheckpointId: Number(row.delivered_checkpoint_id), failures: row.consecutive_failures, lastError: row.last_error };
}

async function waitFor<T>(what: string, read: () => T | Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)?.slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const seqsOf = (request: ReceivedRequest) =>
  request.body
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { seq: number }).seq);

const acceptedEventSeqs = (collector: TestHttpReceiver) => collector.accepted().filter((record) => record.type === undefined).map((record) => record.seq as number);

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * What at-least-once and in order means for the requests a collector saw: every request
 * starts right after what the previous accepted request ended with, or, after a refused or
 * dropped one, where that one started (a repeat). Never further on: nothing is skipped.
 */
function expectNoGapsAndRepeatsOnlyAfterFailures(requests: ReceivedRequest[]): void {
  let deliveredUpTo = 0;
  let failedFrom: number | null = null;
  for (const request of requests) {
    const seqs = seqsOf(request);
    if (seqs.length === 0) continue;
    expect(seqs, `request ${request.index} is in order`).toEqual(range(seqs[0]!, seqs.at(-1)!));
    expect(seqs[0], `request ${request.index} starts where delivery stood`).toBe(failedFrom ?? deliveredUpTo + 1);
    if (request.status >= 200 && request.status < 300) {
      deliveredUpTo = seqs.at(-1)!;
      failedFrom = null;
    } else failedFrom ??= seqs[0]!;
  }
}

describe('streaming the audit log to an HTTP sink', () => {
  it('delivers every event and checkpoint once, in chain order, as the export writes them', async () => {
    await append(30);
    const first = await signHead();
    await append(20);
    const second = await signHead();
    await append(5);
    const collector = await receiver();
    deliver(collector.url);

    const records = await waitFor('every record', () => collector.accepted(), (accepted) => accepted.length >= 57);
    const events = await listAuditEventsAscending(db.pool, 0, 1000);
    const expected = [...events.slice(0, 30).map(eventJson), checkpointLine(first), ...events.slice(30, 50).map(eventJson), checkpointLine(second), ...events.slice(50).map(eventJson)];
    expect(records.map((record) => JSON.stringify(record))).toEqual(expected.map((line) => JSON.stringify(JSON.parse(line))));
    // Byte for byte what an export holds: the receiver can check the hashes itself.
    expect(collector.requests.flatMap((request) => request.body.trim().split('\n'))).toEqual(expected);
    for (const request of collector.requests) {
      expect(request).toMatchObject({ method: 'POST', authorization: `Bearer ${TOKEN}`, contentType: 'application/x-ndjson', status: 200 });
    }
    expect(collector.maxConcurrent).toBe(1);
    const checkpoints = await listCheckpointsAscending(db.pool, 0, 10);
    await waitFor('the cursor', cursor, (now) => now.deliveredSeq === 55 && now.deliveredCheckpointId === checkpoints.at(-1)!.id);
  });

  it('hears of a new event through argus_audit and delivers it within a second, without waiting for a poll', async () => {
    const collector = await receiver();
    deliver(collector.url, { ...FAST, pollMs: 60_000 });
    await append(1);
    await waitFor('the first event', () => acceptedEventSeqs(collector), (seqs) => seqs.length === 1);
    const appendedAt = performance.now();
    await append(1);
    await waitFor('the notified event', () => acceptedEventSeqs(collector), (seqs) => seqs.length === 2, 2_000);
    expect(performance.now() - appendedAt).toBeLessThan(1_000);
  });

  it("on a node, is woken through the node's argus_audit channel and opens no LISTEN connection of its own", async () => {
    const collector = await receiver();
    const channel = new SharedChannel(AUDIT_CHANNEL, silent);
    const delivery = startAuditSinkDelivery({
      databaseUrl: db.database.url,
      sinks: [sinkDefinition(httpSink(collector.url))],
      log: silent,
      tuning: { ...FAST, pollMs: 60_000 },
      auditAppended: channel,
    });
    running.push(delivery);
    await append(1);
    await waitFor('the first event', () => acceptedEventSeqs(collector), (seqs) => seqs.length === 1);
    const { rows } = await query<{ listening: number }>(
      db.pool,
      'test_sink_listeners',
      "SELECT count(*)::int AS listening FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    );
    expect(rows[0]!.listening).toBe(0);

    const event = await recordAuditEvent(db.pool, CONTEXT, { action: 'model.access', outcome: 'success', model: 'demo' });
    // Nobody listens on this database: without the channel's word, the next look is a minute away.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(acceptedEventSeqs(collector)).toHaveLength(1);
    const announcedAt = performance.now();
    channel.dispatch(`${event.seq}`);
    await waitFor('the announced event', () => acceptedEventSeqs(collector), (seqs) => seqs.length === 2, 2_000);
    expect(performance.now() - announcedAt).toBeLessThan(1_000);
  });

  it('tries a sink whose last attempt failed with a small batch, and sends full batches again once it takes one', async () => {
    await append(300);
    const collector = await receiver();
    collector.answerWith((request) => (request.index <= 1 ? { status: 503, body: 'down' } : { status: 200 }));
    deliver(collector.url, { ...FAST, maxBatchRecords: 200 });
    await waitFor('every event', () => acceptedEventSeqs(collector), (seqs) => seqs.length >= 300);
    const sizes = collector.requests.map((request) => seqsOf(request).length);
    // Full, refused; a probe, refused; a probe, taken; then full batches.
    expect(sizes.slice(0, 4)).toEqual([200, SINK_PROBE_RECORDS, SINK_PROBE_RECORDS, 200]);
    expectNoGapsAndRepeatsOnlyAfterFailures(collector.requests);
    expect(acceptedEventSeqs(collector)).toEqual(range(1, 300));
  });

  it('repeats a refused or dropped batch, never skips one, and moves the cursor only past what arrived', async () => {
    await append(100);
    const collector = await receiver();
    collector.answerWith((request) => (request.index === 1 ? { status: 500, body: 'boom' } : request.index === 3 ? 'destroy' : { status: 200 }));
    deliver(collector.url);
    await waitFor('all 100 events', () => cursor(), (now) => now.deliveredSeq === 100);
    expect(acceptedEventSeqs(collector)).toEqual(range(1, 100));
    expect(collector.requests.filter((request) => request.status !== 200).length).toBe(2);
    expectNoGapsAndRepeatsOnlyAfterFailures(collector.requests);
    expect(await cursor()).toMatchObject({ failures: 0, lastError: expect.stringMatching(/^(HTTP 500: boom|request failed: ECONNRESET)$/) });

    // The collector goes away: nothing is lost while it is down, and the cursor waits.
    await collector.halt();
    await append(50);
    const stalled = await waitFor('a failure while the collector is down', cursor, (now) => now.failures >= 2);
    expect(stalled.deliveredSeq).toBe(100);
    expect(stalled.lastError).toContain('ECONNREFUSED');
    await collector.start();
    await waitFor('the events appended while it was down', cursor, (now) => now.deliveredSeq === 150);
    expect(acceptedEventSeqs(collector)).toEqual(range(1, 150));
    expectNoGapsAndRepeatsOnlyAfterFailures(collector.requests);
  });

  it('never holds up an append while a sink hangs mid-batch', async () => {
    await append(5);
    const collector = await receiver();
    collector.answerWith(() => 'hang');
    // The delivery keeps its transaction and the cursor's row lock open for the whole test.
    deliver(collector.url, { ...FAST, deliveryTimeoutMs: 60_000 });
    await waitFor('the hung request', () => collector.requests.length, (count) => count === 1);
    const slowest = { ms: 0 };
    const started = performance.now();
    for (let i = 0; i < 200; i += 1) {
      const one = performance.now();
      await recordAuditEvent(db.pool, CONTEXT, { action: 'model.access', outcome: 'success', model: 'demo', details: { i } });
      slowest.ms = Math.max(slowest.ms, performance.now() - one);
    }
    // 200 appends take well under a second alone; a lock shared with delivery would stall them for the whole hang.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(slowest.ms).toBeLessThan(2_000);
    const { rows } = await query<{ count: number }>(db.pool, 'test_sink_open', "SELECT count(*)::int AS count FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = current_database()");
    expect(rows[0]!.count).toBeGreaterThanOrEqual(1);
    expect((await cursor()).deliveredSeq).toBe(0);
  });

  it('shows a sink that is down in its status and metrics while appends go on and its lag grows', async () => {
    const collector = await receiver();
    await collector.halt();
    const config = httpSink(collector.url);
    running.push({ stop: startAuditSinks({ sinks: [config], databaseUrl: db.database.url, pool: db.pool, log: silent, tuning: FAST }) });
    await append(40);
    const [down] = await waitFor('the sink to count as down', () => readAuditSinkStatuses(db.pool, [config]), ([view]) => view?.state === 'down');
    expect(down).toMatchObject({ kind: 'http', target: `127.0.0.1:${collector.port}`, format: 'ndjson (jsonl)', lagEvents: 40, lastDeliveredSeq: 0, lastDeliveredAt: null });
    expect(down!.lastError).toContain('ECONNREFUSED');
    expect(down!.consecutiveFailures).toBeGreaterThanOrEqual(5);
    expect(await registry.getSingleMetricAsString('argus_audit_sink_up')).toContain('argus_audit_sink_up{sink="http"} 0');
    expect(await registry.getSingleMetricAsString('argus_audit_sink_lag_events')).toContain('argus_audit_sink_lag_events{sink="http"} 40');

    await append(60);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the metrics' one-second cache
    expect(await registry.getSingleMetricAsString('argus_audit_sink_lag_events')).toContain('argus_audit_sink_lag_events{sink="http"} 100');
    const lagSeconds = /argus_audit_sink_lag_seconds\{sink="http"\} ([\d.]+)/.exec(await registry.getSingleMetricAsString('argus_audit_sink_lag_seconds'));
    expect(Number(lagSeconds?.[1])).toBeGreaterThan(0.5);

    await collector.start();
    const [back] = await waitFor('the sink to catch up', () => readAuditSinkStatuses(db.pool, [config]), ([view]) => view?.lagEvents === 0);
    expect(back).toMatchObject({ state: 'delivering', lagSeconds: 0, lastDeliveredSeq: 100, consecutiveFailures: 0 });
    expect(back!.lastError).toContain('ECONNREFUSED');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await registry.getSingleMetricAsString('argus_audit_sink_up')).toContain('argus_audit_sink_up{sink="http"} 1');
  });

  it('lets one node at a time deliver a sink: two nodes never send at once, nor the same record twice', async () => {
    await append(300);
    const collector = await receiver();
    collector.answerWith(() => ({ status: 200, delayMs: 15 }));
    const nodes = [deliver(collector.url, { ...FAST, maxBatchRecords: 20 }), deliver(collector.url, { ...FAST, maxBatchRecords: 20 })];
    for (const node of nodes) node.wake();
    await waitFor('all 300 events', cursor, (now) => now.deliveredSeq === 300);
    expect(collector.maxConcurrent).toBe(1);
    expect(acceptedEventSeqs(collector)).toEqual(range(1, 300));
  });

  it('keeps the token out of the logs, the stored error and the status, even when the collector echoes it', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'trace' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) }));
    await append(3);
    const collector = await receiver();
    collector.answerWith((request) => ({ status: 403, body: `refused: ${request.authorization}` }));
    deliver(collector.url, FAST, log);
    const failed = await waitFor('two failures', cursor, (now) => now.failures >= 2);
    expect(failed.lastError).toMatch(/^HTTP 403: refused: Bearer \[redacted\]/);
    const logged = lines.join('');
    expect(logged).toContain('audit sink delivery failed');
    expect(logged).toContain('HTTP 403');
    expect(logged).not.toContain(TOKEN);
    const statuses = JSON.stringify(await readAuditSinkStatuses(db.pool, [httpSink(collector.url)]));
    expect(statuses).not.toContain(TOKEN);
    expect(await registry.metrics()).not.toContain(TOKEN);
  });

  it('does not follow a redirect, and keeps the batch until the sink itself takes it', async () => {
    await append(3);
    const collector = await receiver();
    const elsewhere = await receiver();
    collector.answerWith(() => ({ status: 302, headers: { location: elsewhere.url } }));
    deliver(collector.url);
    const refused = await waitFor('a failure', cursor, (now) => now.failures >= 1);
    expect(refused.deliveredSeq).toBe(0);
    expect(refused.lastError).toContain('HTTP 302: redirect not followed');
    expect(elsewhere.requests).toHaveLength(0);
    collector.answerWith(() => ({ status: 200 }));
    await waitFor('delivery after the fix', cursor, (now) => now.deliveredSeq === 3);
  });
});
