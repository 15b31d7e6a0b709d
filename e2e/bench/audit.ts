/**
 * `npm run bench:audit`: the audit chain's cost.
 *
 * 1. Appends with the chain from 1 and from 8 concurrent writers: standalone events (committed
 *    by themselves, as denials and model accesses are: the writers share one node's pool, whose
 *    appender group-commits them through `audit_append_many`), and events inside a transaction
 *    (BEGIN, `audit_append`, COMMIT on a connection each, as changes with their event are). Each
 *    as a ratio to the floor measured in the same run: a plain single-row INSERT, 1 writer,
 *    synchronous_commit on; and the issue #24 figure again in pairs of 1 s slices (floor and
 *    8 writers taking turns), which a drifting disk distorts least.
 * 2. Seeds EVENTS (default 1,000,000) chained events in batches (hashes computed in Node,
 *    rows inserted 5,000 at a time through unnest), then exports the whole range in every
 *    format through the same streaming code the API uses, into a sink that applies
 *    backpressure like a socket, sampling RSS and heap every 10 ms; EXPORT_ROUNDS rounds (default
 *    2), each format's best round and its ratio to CSV's; and the read alone, formatting nothing.
 *
 * 3. Times one search page (keyset, newest first) for each kind of filter over those
 *    events, and verifying the whole chain.
 *
 * 4. SIEM sinks (e2e/bench/auditSinks.ts): events/s to an HTTP collector and to rsyslog over
 *    TLS, delivery lag at 1,000 appends/s, appends with a sink down against no sink.
 *
 * PARTS (default `appends,exports,sinks`) picks which parts run.
 * Targets (issue #7): ≥ 2,000 appends/s; exports > 50,000 events/s with flat memory.
 * Issue #19: ≥ 20,000 events/s to each sink, lag p99 < 1 s, appends with a sink down ≥ 0.95×.
 * Issue #24: appends, 8 writers standalone ≥ 4× the INSERT floor; JSONL and OCSF exports ≥ CSV's rate.
 */
import { loadavg } from 'node:os';
import { Writable } from 'node:stream';
import { EXPORT_FORMATS } from '../../shared/audit.ts';
import { EXPORT_BATCH, streamAuditExport } from '../../server/audit/export/streamExport.ts';
import { recordAuditEvent } from '../../server/audit/record.ts';
import { seedChain } from '../../server/audit/testing/seedChain.ts';
import { verifyAuditChain } from '../../server/audit/verify.ts';
import { migrate } from '../../server/db/migrate.ts';
import { searchAuditEvents, searchAuditEventsAscending, type AuditWhere } from '../../server/db/audit.ts';
import { createPool, query, withTransaction, type Pool } from '../../server/db/pool.ts';
import { createLogger } from '../../server/log.ts';
import { auditAppendBatchSize } from '../../server/metrics.ts';
import { benchDatabase } from './benchSetup.ts';
import { benchSinks } from './auditSinks.ts';

const EVENTS = Number(process.env.EVENTS ?? 1_000_000);
const APPEND_SECONDS = Number(process.env.APPEND_SECONDS ?? 5);
const EXPORT_ROUNDS = Number(process.env.EXPORT_ROUNDS ?? 2);
/** Which parts run (comma-separated; default all): appends, exports (with seeding, search and verify), sinks. */
const PARTS = new Set((process.env.PARTS ?? 'appends,exports,sinks').split(','));

const log = createLogger('silent');
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const rate = (count: number, ms: number) => Math.round((count / ms) * 1000).toLocaleString('en');

const BENCH_CONTEXT = { actor: { id: '00000000-0000-4000-8000-000000000001', username: 'writer' }, ip: '10.0.0.1', userAgent: 'bench' };

/**
 * Appends from `writers` concurrent callers for `seconds`. Standalone, they share one pool, as
 * the requests of one node do (its appender group-commits them); in a transaction, each has a
 * connection of its own (BEGIN, append, COMMIT).
 */
async function appendFor(pools: Pool[], writers: number, seconds: number, inTransaction: boolean): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let appended = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      const pool = pools[writer % pools.length]!;
      while (performance.now() < deadline) {
        const input = { action: 'model.access', outcome: 'success', model: 'demo', details: { writer, n: appended } } as const;
        if (inTransaction) await withTransaction(pool, (client) => recordAuditEvent(client, BENCH_CONTEXT, input));
        else await recordAuditEvent(pool, BENCH_CONTEXT, input);
        appended += 1;
      }
    }),
  );
  return appended;
}

/** A node's pool (10 connections, as createPool gives a node), for standalone appends. */
const NODE_POOL_SIZE = 10;

async function benchAppends(databaseUrl: string, pool: Pool): Promise<void> {
  // Standalone events are group-committed by the node's appender (server/audit/appender.ts):
  // while one batch commits, the next events queue, then go in one call and one commit. In a
  // transaction, the chain lock is held until the client's COMMIT. The last run shows the cost
  // of the WAL flush: the same appends without waiting for it (synchronous_commit = off; a
  // what-if, Argus does not run like this).
  // The floor: a plain single-row INSERT, 1 writer, synchronous_commit on, measured before and
  // after the appends (the machine's load drifts; the ratios use their mean).
  const floorBefore = await baselineInsert(databaseUrl, pool);
  const runs = [
    { writers: 1, inTransaction: false, syncCommit: true },
    { writers: 8, inTransaction: false, syncCommit: true },
    { writers: 1, inTransaction: true, syncCommit: true },
    { writers: 8, inTransaction: true, syncCommit: true },
    { writers: 8, inTransaction: false, syncCommit: false },
  ];
  const results: Array<{ label: string; perSecond: number; standalone: boolean; writers: number; syncCommit: boolean }> = [];
  for (const { writers, inTransaction, syncCommit } of runs) {
    const url = new URL(databaseUrl);
    if (!syncCommit) url.searchParams.set('options', '-c synchronous_commit=off');
    const pools = inTransaction
      ? Array.from({ length: writers }, () => createPool(url.toString(), log, 1))
      : [createPool(url.toString(), log, NODE_POOL_SIZE)];
    auditAppendBatchSize.reset();
    const started = performance.now();
    const appended = await appendFor(pools, writers, APPEND_SECONDS, inTransaction);
    const ms = performance.now() - started;
    await Promise.all(pools.map((p) => p.end()));
    const batches = (await auditAppendBatchSize.get()).values;
    const batchCount = batches.find((value) => value.metricName?.endsWith('_count'))?.value ?? 0;
    const batchSum = batches.find((value) => value.metricName?.endsWith('_sum'))?.value ?? 0;
    const label = `${writers} writer${writers > 1 ? 's' : ''}, ${inTransaction ? 'in a transaction' : 'standalone'}${syncCommit ? '' : ', synchronous_commit=off (what-if)'}`;
    const perSecond = (appended / ms) * 1000;
    results.push({ label, perSecond, standalone: !inTransaction, writers, syncCommit });
    const grouped = batchCount ? ` (group commit: ${batchCount} batches, ${(batchSum / batchCount).toFixed(1)} events each)` : '';
    console.log(`append, ${label}: ${appended} events in ${(ms / 1000).toFixed(1)} s = ${rate(appended, ms)} events/s${grouped}`);
  }
  const floorAfter = await baselineInsert(databaseUrl, pool);
  const floor = (floorBefore + floorAfter) / 2;
  console.log(
    `floor: plain single-row INSERT without the chain, 1 writer, synchronous_commit on: ${Math.round(floorBefore).toLocaleString('en')} rows/s before, ` +
      `${Math.round(floorAfter).toLocaleString('en')} after (mean ${Math.round(floor).toLocaleString('en')})`,
  );
  for (const result of results) console.log(`ratio to the floor, ${result.label}: ${(result.perSecond / floor).toFixed(2)}×`);
  const eight = results.find((result) => result.standalone && result.writers === 8 && result.syncCommit)!;
  console.log(`target (issue #24), one 5 s run against the mean floor: appends, 8 writers standalone ≥ 4×: ${(eight.perSecond / floor).toFixed(2)}× ${eight.perSecond >= 4 * floor ? 'met' : 'NOT met'}`);
  await pairedAppendRatio(databaseUrl, pool);
  const verification = await verifyAuditChain(pool);
  if (!verification.intact) throw new Error(`the chain broke under concurrent appends: ${JSON.stringify(verification)}`);
  console.log(`chain after appends: intact, ${verification.checked} events`);
}

const BASELINE_TABLE = 'CREATE TABLE IF NOT EXISTS audit_event_baseline (LIKE audit_event INCLUDING DEFAULTS); CREATE SEQUENCE IF NOT EXISTS audit_event_baseline_seq';
const BASELINE_DROP = 'DROP TABLE audit_event_baseline; DROP SEQUENCE audit_event_baseline_seq';

/**
 * The floor: the same row inserted by 1 writer, one statement committed by itself (one round
 * trip, one WAL flush), into a copy of the table with no chain, no lock and no hash. Rows/s.
 * The table must exist (BASELINE_TABLE).
 */
async function insertFor(writer: Pool, seconds: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let inserted = 0;
  const started = performance.now();
  while (performance.now() < deadline) {
    await query(
      writer,
      'bench_baseline_insert',
      `INSERT INTO audit_event_baseline (seq, time, action, outcome, severity, model, details, prev_hash, hash)
       VALUES (nextval('audit_event_baseline_seq'), now(), 'model.access', 'success', 'info', 'demo', $1::jsonb, $2, $2)`,
      [JSON.stringify({ n: inserted }), '0'.repeat(64)],
    );
    inserted += 1;
  }
  return (inserted / (performance.now() - started)) * 1000;
}

async function baselineInsert(databaseUrl: string, pool: Pool): Promise<number> {
  await query(pool, 'bench_baseline_table', BASELINE_TABLE);
  const writer = createPool(databaseUrl, log, 1);
  const perSecond = await insertFor(writer, APPEND_SECONDS);
  await writer.end();
  await query(pool, 'bench_baseline_drop', BASELINE_DROP);
  return perSecond;
}

/**
 * The issue #24 figure, paired: APPEND_PAIRS (default 6) pairs of 1 s slices, the floor and the
 * 8 standalone writers of one node taking turns (order alternating) on connections opened and
 * warmed beforehand, so that both see the same moment of a disk and CPU whose speed drifts by
 * 2× within a minute on a shared machine.
 */
async function pairedAppendRatio(databaseUrl: string, pool: Pool): Promise<void> {
  const pairs = Number(process.env.APPEND_PAIRS ?? 6);
  await query(pool, 'bench_baseline_table', BASELINE_TABLE);
  const writer = createPool(databaseUrl, log, 1);
  const node = createPool(databaseUrl, log, NODE_POOL_SIZE);
  const appendsPerSecond = async (seconds: number) => {
    const started = performance.now();
    const appended = await appendFor([node], 8, seconds, false);
    return (appended / (performance.now() - started)) * 1000;
  };
  await insertFor(writer, 0.3);
  await appendsPerSecond(0.3);
  const ratios: number[] = [];
  const slices: string[] = [];
  let floorTotal = 0;
  let appendsTotal = 0;
  for (let pair = 0; pair < pairs; pair += 1) {
    const rates = { floor: 0, appends: 0 };
    for (const kind of pair % 2 === 0 ? (['floor', 'appends'] as const) : (['appends', 'floor'] as const)) {
      if (kind === 'floor') rates.floor = await insertFor(writer, 1);
      else rates.appends = await appendsPerSecond(1);
    }
    floorTotal += rates.floor;
    appendsTotal += rates.appends;
    ratios.push(rates.appends / rates.floor);
    slices.push(`${Math.round(rates.floor)}/${Math.round(rates.appends)}`);
  }
  await writer.end();
  await node.end();
  await query(pool, 'bench_baseline_drop', BASELINE_DROP);
  const median = [...ratios].sort((x, y) => x - y)[Math.floor(ratios.length / 2)]!;
  console.log(
    `target (issue #24), paired: appends with 8 writers standalone / plain INSERT floor = ${(appendsTotal / floorTotal).toFixed(2)}× over ${pairs} pairs of 1 s slices ` +
      `(median pair ${median.toFixed(2)}×; floor/appends per second: ${slices.join(', ')}) — target ≥ 4×: ${appendsTotal >= 4 * floorTotal ? 'met' : 'NOT met'}`,
  );
}

/** `ownerPool`: seeding writes audit_event directly, which only the owner may (sql/000015). */
async function seed(ownerPool: Pool, count: number): Promise<void> {
  const started = performance.now();
  await seedChain(ownerPool, count);
  await query(ownerPool, 'bench_analyze', 'ANALYZE audit_event');
  console.log(`seeded ${count.toLocaleString('en')} chained events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Milliseconds per search page (50 events, newest first) for typical filters, over the seeded chain. */
async function benchSearch(pool: Pool, headSeq: number): Promise<void> {
  const cases: Array<[string, AuditWhere, number | undefined]> = [
    ['newest page', {}, undefined],
    ['a page in the middle', {}, Math.floor(headSeq / 2)],
    ['actor', { actor: 'user42' }, undefined],
    ['action', { action: 'user.disabled' }, undefined],
    ['target', { target: '00000000-0000-4000-8000-000000000123' }, undefined],
    ['severity', { severity: 'high' }, undefined],
    ['model, deep', { model: 'restricted-demo' }, Math.floor(headSeq / 2)],
    ['outcome and time range', { outcome: 'failure', from: new Date(Date.now() - 200_000).toISOString() }, undefined],
    ['nothing matches', { actor: 'nobody' }, undefined],
  ];
  const figures: string[] = [];
  for (const [name, filter, beforeSeq] of cases) {
    await searchAuditEvents(pool, filter, { beforeSeq, limit: 51 });
    const started = performance.now();
    for (let i = 0; i < 5; i += 1) await searchAuditEvents(pool, filter, { beforeSeq, limit: 51 });
    figures.push(`${name} ${((performance.now() - started) / 5).toFixed(1)} ms`);
  }
  console.log(`search, one page of 50: ${figures.join('; ')}`);
}

/** A sink that drains at its own pace: write() says "full" past 64 KiB, like a socket. */
function discardingSink(): Writable & { bytes: number } {
  const sink = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      sink.bytes += chunk.length;
      setImmediate(callback);
    },
  }) as Writable & { bytes: number };
  sink.bytes = 0;
  return sink;
}

/**
 * Each format EXPORT_ROUNDS times (default 2), the formats taking turns so that each sees the
 * same drift in the machine's load; each format's best round, and its ratio to CSV's.
 */
async function benchExports(pool: Pool, toSeq: number): Promise<void> {
  const best = new Map<string, number>();
  for (let round = 1; round <= EXPORT_ROUNDS; round += 1) {
    for (const format of EXPORT_FORMATS) {
      global.gc?.();
      const before = process.memoryUsage();
      let rssPeak = before.rss;
      let heapPeak = before.heapUsed;
      const sampler = setInterval(() => {
        const now = process.memoryUsage();
        rssPeak = Math.max(rssPeak, now.rss);
        heapPeak = Math.max(heapPeak, now.heapUsed);
      }, 10);
      const sink = discardingSink();
      const started = performance.now();
      const cpu = process.cpuUsage();
      const summary = await streamAuditExport({ db: pool, sink, format, where: { fromSeq: 1, toSeq } });
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      clearInterval(sampler);
      best.set(format, Math.max(best.get(format) ?? 0, (summary.eventCount / ms) * 1000));
      console.log(
        `export ${format.padEnd(5)} (round ${round}): ${summary.eventCount.toLocaleString('en')} events, ${mib(summary.fileBytes)} in ${(ms / 1000).toFixed(1)} s = ${rate(summary.eventCount, ms)} events/s; ` +
          `RSS ${mib(before.rss)} → peak ${mib(rssPeak)}, heap ${mib(before.heapUsed)} → peak ${mib(heapPeak)}; this process busy ${Math.round(((used.user + used.system) / 1000 / ms) * 100)} % of the time`,
      );
    }
  }
  // What every format shares: reading the events (keyset batches, one read ahead), formatting none.
  for (let round = 1; round <= EXPORT_ROUNDS; round += 1) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    let read = 0;
    let pending = searchAuditEventsAscending(pool, {}, 0, EXPORT_BATCH);
    for (;;) {
      const batch = await pending;
      if (batch.length === 0) break;
      read += batch.length;
      pending = searchAuditEventsAscending(pool, {}, batch.at(-1)!.seq, EXPORT_BATCH);
    }
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    console.log(`export read only (round ${round}): ${rate(read, ms)} events/s, this process busy ${Math.round(((used.user + used.system) / 1000 / ms) * 100)} % of the time`);
  }
  const csv = best.get('csv')!;
  console.log(
    `exports, best round, events/s and ratio to CSV: ${EXPORT_FORMATS.map((format) => `${format} ${Math.round(best.get(format)!).toLocaleString('en')} (${(best.get(format)! / csv).toFixed(2)}×)`).join(', ')}`,
  );
}

const database = await benchDatabase();
// As the owner (the cluster's admin role): it migrates, creates the baseline table and seeds
// audit_event directly, none of which the server's role (argus_app, sql/000015) may do.
const pool = createPool(database.databaseUrl, log, 10);
try {
  await migrate(pool, log);
  console.log(`bench:audit — ${EVENTS.toLocaleString('en')} events to export; appends for ${APPEND_SECONDS} s per run`);
  console.log(`load (uptime): ${loadavg().map((load) => load.toFixed(2)).join(', ')}`);
  if (PARTS.has('appends')) await benchAppends(database.databaseUrl, pool);
  await seed(pool, EVENTS);
  const { rows } = await query<{ seq: string }>(pool, 'bench_head', 'SELECT max(seq) AS seq FROM audit_event');
  await benchSearch(pool, Number(rows[0]!.seq));
  if (PARTS.has('exports')) {
    const verifyStarted = performance.now();
    const verification = await verifyAuditChain(pool);
    const verifyMs = performance.now() - verifyStarted;
    console.log(`verify the whole chain: ${verification.checked.toLocaleString('en')} events in ${(verifyMs / 1000).toFixed(1)} s = ${rate(verification.checked, verifyMs)} events/s (intact: ${verification.intact})`);
    // Read the table once so every format starts from the same (warm) buffer cache.
    await query(pool, 'bench_warm', 'SELECT count(*), sum(length(details::text)) FROM audit_event');
    await benchExports(pool, Number(rows[0]!.seq));
  }
  if (PARTS.has('sinks')) {
    // SIEM sinks (issue #19), on the same chain: e2e/bench/auditSinks.ts.
    // 16 callers on one node: its appender group-commits their standalone events.
    const lagNode = createPool(database.databaseUrl, log, 16);
    const lagWriters = Array.from({ length: 16 }, () => lagNode);
    await benchSinks({
      databaseUrl: database.databaseUrl,
      pool,
      writers: lagWriters,
      appendSeconds: APPEND_SECONDS,
      appendFor: async (seconds) => {
        const node = createPool(database.databaseUrl, log, NODE_POOL_SIZE);
        const started = performance.now();
        const appended = await appendFor([node], 8, seconds, false);
        const ms = performance.now() - started;
        await node.end();
        return { appended, ms };
      },
    });
    await lagNode.end();
  }
  console.log(`load (uptime) at the end: ${loadavg().map((load) => load.toFixed(2)).join(', ')}`);
} finally {
  await pool.end();
  await database.drop();
}
