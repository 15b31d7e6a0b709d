/**
 * The SIEM sink figures of `npm run bench:audit` (issue #19), measured in the same run as the
 * append and export figures, on the chain that run seeded:
 *
 * 1. Throughput: SINK_EVENTS events (default 200,000) behind the cursor, delivered to a local
 *    HTTP collector (NDJSON, bearer token) and to a real rsyslog over TLS (RFC 5425, JSON
 *    bodies, the sink's default), in events/s until the last one arrived. Target ≥ 20,000/s each.
 * 2. Lag: appends at a steady 1,000/s for LAG_SECONDS (default 10) while the HTTP sink
 *    streams them; the time from each append's commit to its arrival at the collector,
 *    p50/p99/max. Target p99 < 1 s.
 * 3. Appends while a sink is down (its collector refuses connections: delivery fails and
 *    backs off) against no sink configured at all: SINK_DOWN_PAIRS (default 4) pairs of
 *    APPEND_SECONDS runs, the median ratio. Target ≥ 0.95×. Both sides run as a node does: with
 *    the node's one LISTEN connection on `argus_audit` (its live feed, no staff socket), which
 *    the delivery shares rather than opening its own (server/runtime.ts).
 *
 * Collector and delivery run in this process, as they would share a machine's cores.
 */
import { createLogger } from '../../server/log.ts';
import { createPool, query, type Pool } from '../../server/db/pool.ts';
import { recordAuditEvent } from '../../server/audit/record.ts';
import { startAuditSinkDelivery, type AuditSinkDelivery } from '../../server/audit/sinks/delivery.ts';
import { AUDIT_CHANNEL } from '../../server/db/audit.ts';
import { auditFeed } from '../../server/realtime/auditFeed.ts';
import { SharedChannel, startPgListener } from '../../server/realtime/pgListener.ts';
import { sinkDefinition } from '../../server/audit/sinks/sinks.ts';
import type { AuditSinkConfig } from '../../server/audit/sinks/sinkConfig.ts';
import { startHttpReceiver } from '../../server/audit/sinks/testing/httpReceiver.ts';
import { RsyslogNotInstalledError, startTestRsyslog } from '../../server/audit/sinks/testing/rsyslog.ts';

const SINK_EVENTS = Number(process.env.SINK_EVENTS ?? 200_000);
const LAG_SECONDS = Number(process.env.LAG_SECONDS ?? 10);
const LAG_RATE = 1_000;
const DOWN_PAIRS = Number(process.env.SINK_DOWN_PAIRS ?? 4);
const TOKEN = 'bench-token-7d2f9a4c-3e1b-4c8d-a6f5-0b9e2d7c1a43';
const log = createLogger('silent');
const rate = (count: number, ms: number) => Math.round((count / ms) * 1000).toLocaleString('en');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Puts a sink's cursor `behind` events before the chain head (ownerPool: the cursor table is
 * ordinary) and returns how many events it placed behind it: fewer than asked when the chain is
 * shorter (SINK_EVENTS above EVENTS), which the throughput runs must wait for, not SINK_EVENTS.
 */
async function placeCursor(pool: Pool, sinkId: string, behind: number): Promise<number> {
  const { rows } = await query<{ seq: string }>(pool, 'bench_sink_head', 'SELECT coalesce(max(seq), 0) AS seq FROM audit_event');
  const head = Number(rows[0]!.seq);
  await query(
    pool,
    'bench_sink_place',
    `INSERT INTO audit_sink_cursor (sink_id, delivered_seq) VALUES ($1::text, $2::bigint)
     ON CONFLICT (sink_id) DO UPDATE SET delivered_seq = EXCLUDED.delivered_seq, consecutive_failures = 0, next_attempt_at = NULL,
       delivered_checkpoint_id = (SELECT coalesce(max(id), 0) FROM audit_checkpoint)`,
    [sinkId, Math.max(0, head - behind)],
  );
  return Math.min(behind, head);
}

async function deliveredSeq(pool: Pool, sinkId: string): Promise<number> {
  const { rows } = await query<{ seq: string }>(pool, 'bench_sink_cursor', 'SELECT delivered_seq AS seq FROM audit_sink_cursor WHERE sink_id = $1::text', [sinkId]);
  return Number(rows[0]?.seq ?? 0);
}

function start(databaseUrl: string, sink: AuditSinkConfig, auditAppended?: SharedChannel): AuditSinkDelivery {
  return startAuditSinkDelivery({ databaseUrl, sinks: [sinkDefinition(sink)], log, ...(auditAppended && { auditAppended }) });
}

/** A node's LISTEN connection on `argus_audit` with its live feed (no staff socket: it reads nothing), as runtime.ts starts it. */
async function startNodeListener(databaseUrl: string, pool: Pool): Promise<{ auditAppended: SharedChannel; stop: () => Promise<void> }> {
  const auditAppended = new SharedChannel(AUDIT_CHANNEL, log);
  auditAppended.subscribe(auditFeed({ pool, log, wanted: () => false, onEvent: () => undefined }));
  let markLive: () => void = () => undefined;
  const live = new Promise<void>((resolve) => (markLive = resolve));
  const stop = startPgListener({ databaseUrl, log, channels: { [AUDIT_CHANNEL]: auditAppended.dispatch }, onLive: (now) => now && markLive() });
  await live;
  return { auditAppended, stop };
}

const httpSink = (url: string): AuditSinkConfig => ({ kind: 'http', url, token: TOKEN, authScheme: 'Bearer', envelope: 'ndjson', recordFormat: 'jsonl' });

/** 1a. Events/s to the HTTP collector, from a cursor SINK_EVENTS behind the head. */
async function httpThroughput(databaseUrl: string, pool: Pool): Promise<void> {
  let lines = 0;
  const collector = await startHttpReceiver({
    token: TOKEN,
    keepBodies: false,
    onBody: (body) => {
      for (let at = body.indexOf('\n'); at !== -1; at = body.indexOf('\n', at + 1)) lines += 1;
    },
  });
  const events = await placeCursor(pool, 'http', SINK_EVENTS);
  const started = performance.now();
  const delivery = start(databaseUrl, httpSink(collector.url));
  // Bounded: a delivery that stops short fails the bench instead of hanging it.
  const deadline = started + 300_000;
  while (lines < events && performance.now() < deadline) await sleep(20);
  const ms = performance.now() - started;
  await delivery.stop();
  await collector.halt();
  if (lines < events) throw new Error(`sink http: only ${lines} of ${events} events arrived within 300 s`);
  console.log(`sink http (NDJSON, jsonl records): ${events.toLocaleString('en')} events in ${(ms / 1000).toFixed(1)} s = ${rate(events, ms)} events/s (target ≥ 20,000)`);
}

/** 1b. Events/s to a real rsyslog over TLS, until rsyslog has written the last one. */
async function syslogThroughput(databaseUrl: string, pool: Pool): Promise<void> {
  let rsyslog;
  try {
    rsyslog = await startTestRsyslog();
  } catch (error) {
    if (!(error instanceof RsyslogNotInstalledError)) throw error;
    console.log(`sink syslog: skipped (${error.message})`);
    return;
  }
  try {
    const events = await placeCursor(pool, 'syslog', SINK_EVENTS);
    const sink: AuditSinkConfig = { kind: 'syslog', host: 'localhost', port: rsyslog.port, ca: rsyslog.caPem, cert: null, key: null, serverName: null, facility: 'authpriv', format: 'jsonl' };
    const started = performance.now();
    const delivery = start(databaseUrl, sink);
    const head = Number((await query<{ seq: string }>(pool, 'bench_sink_head', 'SELECT coalesce(max(seq), 0) AS seq FROM audit_event')).rows[0]!.seq);
    const deadline = started + 300_000;
    while ((await deliveredSeq(pool, 'syslog')) < head && performance.now() < deadline) await sleep(50);
    const sentMs = performance.now() - started;
    await rsyslog.waitForMessages(events, 120_000);
    const writtenMs = performance.now() - started;
    await delivery.stop();
    console.log(
      `sink syslog (TLS to rsyslog, jsonl bodies): ${events.toLocaleString('en')} events written by rsyslog in ${(writtenMs / 1000).toFixed(1)} s = ${rate(events, writtenMs)} events/s ` +
        `(sent in ${(sentMs / 1000).toFixed(1)} s = ${rate(events, sentMs)} events/s; target ≥ 20,000)`,
    );
  } finally {
    await rsyslog.stop();
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** 2. Commit-to-arrival lag at a steady 1,000 appends/s (p50, p99, max, and the rate reached). */
async function lagAtSteadyRate(databaseUrl: string, pool: Pool, writers: Pool[]): Promise<{ rate: number; text: string }> {
  const arrivedAt = new Map<number, number>();
  const collector = await startHttpReceiver({
    token: TOKEN,
    keepBodies: false,
    onBody: (body) => {
      const now = performance.now();
      for (const line of body.split('\n')) if (line) arrivedAt.set((JSON.parse(line) as { seq: number }).seq, now);
    },
  });
  await placeCursor(pool, 'http', 0);
  const delivery = start(databaseUrl, httpSink(collector.url));
  const committedAt = new Map<number, number>();
  const total = LAG_SECONDS * LAG_RATE;
  const intervalMs = 1000 / LAG_RATE;
  const t0 = performance.now() + 100;
  let next = 0;
  // Each writer takes the next slot of a fixed 1 ms timetable, waiting for it unless behind.
  await Promise.all(
    writers.map(async (writer) => {
      for (let slot = next++; slot < total; slot = next++) {
        await sleep(t0 + slot * intervalMs - performance.now());
        const event = await recordAuditEvent(writer, { actor: null, ip: '10.0.0.1', userAgent: 'bench' }, { action: 'model.access', outcome: 'success', model: 'demo', details: { slot } });
        committedAt.set(event.seq, performance.now());
      }
    }),
  );
  const appendMs = performance.now() - t0;
  const deadline = performance.now() + 30_000;
  while ([...committedAt.keys()].some((seq) => !arrivedAt.has(seq)) && performance.now() < deadline) await sleep(20);
  await delivery.stop();
  await collector.halt();
  const lags = [...committedAt].map(([seq, at]) => (arrivedAt.get(seq) ?? Number.POSITIVE_INFINITY) - at).sort((a, b) => a - b);
  const missing = lags.filter((lag) => !Number.isFinite(lag)).length;
  return {
    rate: (total / appendMs) * 1000,
    text:
      `${rate(total, appendMs)} appends/s for ${LAG_SECONDS} s (HTTP): p50 ${percentile(lags, 50).toFixed(0)} ms, p99 ${percentile(lags, 99).toFixed(0)} ms, ` +
      `max ${lags.at(-1)!.toFixed(0)} ms${missing ? `, ${missing} never arrived` : ''} (target p99 < 1,000 ms)`,
  };
}

/**
 * 2, as run: at 1,000 appends/s if the disk keeps up; if its commit rate cannot (a loaded
 * machine), again with the writers' synchronous_commit off, so that delivery still faces
 * 1,000 events/s (rows are visible at commit either way; only the WAL flush wait goes).
 */
async function lag(databaseUrl: string, pool: Pool, writers: Pool[]): Promise<void> {
  const steady = await lagAtSteadyRate(databaseUrl, pool, writers);
  console.log(`sink lag at ${steady.text}`);
  if (steady.rate >= 0.9 * LAG_RATE) return;
  // A node of the same size whose connections all run with synchronous_commit off.
  const url = new URL(databaseUrl);
  url.searchParams.set('options', '-c synchronous_commit=off');
  const asyncNode = createPool(url.toString(), log, writers.length);
  const fast = await lagAtSteadyRate(databaseUrl, pool, writers.map(() => asyncNode));
  await asyncNode.end();
  console.log(`sink lag at ${fast.text} — appends with synchronous_commit=off: this machine's disk commits only ${Math.round(steady.rate)}/s`);
}

/**
 * 3. Append rate with a sink that is down against none configured: runs in pairs, one of
 * each (their order alternating), so both see the same load from the rest of the machine;
 * the figure is the median of the pairs' ratios.
 */
async function appendsWhileSinkIsDown(
  databaseUrl: string,
  pool: Pool,
  appendFor: (seconds: number) => Promise<{ appended: number; ms: number }>,
  seconds: number,
): Promise<void> {
  const collector = await startHttpReceiver({ token: TOKEN, keepBodies: false });
  const deadUrl = collector.url;
  await collector.halt(); // the port now refuses connections
  await placeCursor(pool, 'http', 0);
  const ratios: number[] = [];
  const runs: string[] = [];
  for (let pair = 0; pair < DOWN_PAIRS; pair += 1) {
    const perSecond = { none: 0, down: 0 };
    for (const condition of pair % 2 === 0 ? (['none', 'down'] as const) : (['down', 'none'] as const)) {
      const node = await startNodeListener(databaseUrl, pool);
      const delivery = condition === 'down' ? start(databaseUrl, httpSink(deadUrl), node.auditAppended) : null;
      if (delivery) await sleep(200); // its first attempt has failed: it is backing off
      const { appended, ms } = await appendFor(seconds);
      await delivery?.stop();
      await node.stop();
      perSecond[condition] = (appended / ms) * 1000;
    }
    ratios.push(perSecond.down / perSecond.none);
    runs.push(`${Math.round(perSecond.none)}/${Math.round(perSecond.down)}`);
  }
  const median = [...ratios].sort((x, y) => x - y)[Math.floor(ratios.length / 2)]!;
  const stayed = await deliveredSeq(pool, 'http');
  console.log(
    `appends, 8 writers standalone, HTTP sink down vs no sink: ${median.toFixed(2)}× (median of ${DOWN_PAIRS} pairs of ${seconds} s runs; target ≥ 0.95×; ` +
      `events/s none/down: ${runs.join(', ')}; the sink's cursor stayed at ${stayed})`,
  );
}

export async function benchSinks({
  databaseUrl,
  pool,
  writers,
  appendFor,
  appendSeconds,
}: {
  databaseUrl: string;
  /** The owner's pool (it places cursors). */
  pool: Pool;
  /** The paced appenders of the lag run: one per concurrent caller (the same node's pool, as requests share it). */
  writers: Pool[];
  /** Appends standalone events from 8 writers for that long. */
  appendFor: (seconds: number) => Promise<{ appended: number; ms: number }>;
  appendSeconds: number;
}): Promise<void> {
  await httpThroughput(databaseUrl, pool);
  await syslogThroughput(databaseUrl, pool);
  await lag(databaseUrl, pool, writers);
  await appendsWhileSinkIsDown(databaseUrl, pool, appendFor, appendSeconds);
}
