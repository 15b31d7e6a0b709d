/**
 * `npm run bench:audit`: the audit chain's cost.
 *
 * 1. Appends with the chain (one `audit_append` call: advisory lock, head read, hash,
 *    insert + NOTIFY), from 1 and from 8 concurrent writers on separate connections: standalone
 *    events (committed by themselves, as denials and model accesses are), and events inside
 *    a transaction (BEGIN, append, COMMIT, as changes with their event are).
 * 2. Seeds EVENTS (default 1,000,000) chained events in batches (hashes computed in Node,
 *    rows inserted 5,000 at a time through unnest), then exports the whole range in every
 *    format through the same streaming code the API uses, into a sink that applies
 *    backpressure like a socket, sampling RSS and heap every 10 ms.
 *
 * 3. Times one search page (keyset, newest first) for each kind of filter over those
 *    events, and verifying the whole chain.
 *
 * 4. SIEM sinks (e2e/bench/auditSinks.ts): events/s to an HTTP collector and to rsyslog over
 *    TLS, delivery lag at 1,000 appends/s, appends with a sink down against no sink.
 *
 * Targets (issue #7): ≥ 2,000 appends/s; exports > 50,000 events/s with flat memory.
 * Issue #19: ≥ 20,000 events/s to each sink, lag p99 < 1 s, appends with a sink down ≥ 0.95×.
 */
import { Writable } from 'node:stream';
import { EXPORT_FORMATS } from '../../shared/audit.ts';
import { streamAuditExport } from '../../server/audit/export/streamExport.ts';
import { recordAuditEvent } from '../../server/audit/record.ts';
import { seedChain } from '../../server/audit/testing/seedChain.ts';
import { verifyAuditChain } from '../../server/audit/verify.ts';
import { migrate } from '../../server/db/migrate.ts';
import { searchAuditEvents, type AuditWhere } from '../../server/db/audit.ts';
import { createPool, query, withTransaction, type Pool } from '../../server/db/pool.ts';
import { createLogger } from '../../server/log.ts';
import { benchDatabase } from './benchSetup.ts';
import { benchSinks } from './auditSinks.ts';

const EVENTS = Number(process.env.EVENTS ?? 1_000_000);
const APPEND_SECONDS = Number(process.env.APPEND_SECONDS ?? 5);

const log = createLogger('silent');
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const rate = (count: number, ms: number) => Math.round((count / ms) * 1000).toLocaleString('en');

const BENCH_CONTEXT = { actor: { id: '00000000-0000-4000-8000-000000000001', username: 'writer' }, ip: '10.0.0.1', userAgent: 'bench' };

async function appendFor(pools: Pool[], seconds: number, inTransaction: boolean): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let appended = 0;
  await Promise.all(
    pools.map(async (pool, writer) => {
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

async function benchAppends(databaseUrl: string, pool: Pool): Promise<void> {
  // The chain lock is held until commit. Standalone, that is the server running one statement
  // and its commit; in a transaction, the COMMIT round trip from the client as well. The last
  // run shows the cost of the WAL flush: the same appends without waiting for it
  // (synchronous_commit = off; a what-if, Argus does not run like this).
  const runs = [
    { writers: 1, inTransaction: false, syncCommit: true },
    { writers: 8, inTransaction: false, syncCommit: true },
    { writers: 1, inTransaction: true, syncCommit: true },
    { writers: 8, inTransaction: true, syncCommit: true },
    { writers: 8, inTransaction: false, syncCommit: false },
  ];
  for (const { writers, inTransaction, syncCommit } of runs) {
    const pools = Array.from({ length: writers }, () => createPool(databaseUrl, log, 1));
    if (!syncCommit) await Promise.all(pools.map((p) => query(p, 'bench_async_commit', 'SET synchronous_commit = off')));
    const started = performance.now();
    const appended = await appendFor(pools, APPEND_SECONDS, inTransaction);
    const ms = performance.now() - started;
    await Promise.all(pools.map((p) => p.end()));
    const label = `${writers} writer${writers > 1 ? 's' : ''}, ${inTransaction ? 'in a transaction' : 'standalone'}${syncCommit ? '' : ', synchronous_commit=off (what-if)'}`;
    console.log(`append, ${label}: ${appended} events in ${(ms / 1000).toFixed(1)} s = ${rate(appended, ms)} events/s`);
  }
  await baselineInsert(databaseUrl, pool);
  const verification = await verifyAuditChain(pool);
  if (!verification.intact) throw new Error(`the chain broke under concurrent appends: ${JSON.stringify(verification)}`);
  console.log(`chain after appends: intact, ${verification.checked} events`);
}

/**
 * The floor under the in-transaction figures: the same row inserted (BEGIN, INSERT, COMMIT)
 * into a copy of the table with no chain, no lock and no hash, by 1 writer.
 */
async function baselineInsert(databaseUrl: string, pool: Pool): Promise<void> {
  await query(pool, 'bench_baseline_table', 'CREATE TABLE audit_event_baseline (LIKE audit_event INCLUDING DEFAULTS); CREATE SEQUENCE audit_event_baseline_seq');
  const writer = createPool(databaseUrl, log, 1);
  const deadline = performance.now() + APPEND_SECONDS * 1000;
  let inserted = 0;
  const started = performance.now();
  while (performance.now() < deadline) {
    await withTransaction(writer, (client) =>
      query(
        client,
        'bench_baseline_insert',
        `INSERT INTO audit_event_baseline (seq, time, action, outcome, severity, model, details, prev_hash, hash)
         VALUES (nextval('audit_event_baseline_seq'), now(), 'model.access', 'success', 'info', 'demo', $1::jsonb, $2, $2)`,
        [JSON.stringify({ n: inserted }), '0'.repeat(64)],
      ),
    );
    inserted += 1;
  }
  const ms = performance.now() - started;
  await writer.end();
  await query(pool, 'bench_baseline_drop', 'DROP TABLE audit_event_baseline; DROP SEQUENCE audit_event_baseline_seq');
  console.log(`baseline, 1 writer, in a transaction, plain INSERT without the chain: ${rate(inserted, ms)} rows/s`);
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

async function benchExports(pool: Pool, toSeq: number): Promise<void> {
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
    const summary = await streamAuditExport({ db: pool, sink, format, where: { fromSeq: 1, toSeq } });
    const ms = performance.now() - started;
    clearInterval(sampler);
    console.log(
      `export ${format.padEnd(5)}: ${summary.eventCount.toLocaleString('en')} events, ${mib(summary.fileBytes)} in ${(ms / 1000).toFixed(1)} s = ${rate(summary.eventCount, ms)} events/s; ` +
        `RSS ${mib(before.rss)} → peak ${mib(rssPeak)}, heap ${mib(before.heapUsed)} → peak ${mib(heapPeak)}`,
    );
  }
}

const database = await benchDatabase();
// As the owner (the cluster's admin role): it migrates, creates the baseline table and seeds
// audit_event directly, none of which the server's role (argus_app, sql/000015) may do.
const pool = createPool(database.databaseUrl, log, 10);
try {
  await migrate(pool, log);
  console.log(`bench:audit — ${EVENTS.toLocaleString('en')} events to export; appends for ${APPEND_SECONDS} s per run`);
  await benchAppends(database.databaseUrl, pool);
  await seed(pool, EVENTS);
  const { rows } = await query<{ seq: string }>(pool, 'bench_head', 'SELECT max(seq) AS seq FROM audit_event');
  await benchSearch(pool, Number(rows[0]!.seq));
  const verifyStarted = performance.now();
  const verification = await verifyAuditChain(pool);
  const verifyMs = performance.now() - verifyStarted;
  console.log(`verify the whole chain: ${verification.checked.toLocaleString('en')} events in ${(verifyMs / 1000).toFixed(1)} s = ${rate(verification.checked, verifyMs)} events/s (intact: ${verification.intact})`);
  // Read the table once so every format starts from the same (warm) buffer cache.
  await query(pool, 'bench_warm', 'SELECT count(*), sum(length(details::text)) FROM audit_event');
  await benchExports(pool, Number(rows[0]!.seq));
  // SIEM sinks (issue #19), on the same chain: e2e/bench/auditSinks.ts.
  const lagWriters = Array.from({ length: 16 }, () => createPool(database.databaseUrl, log, 1));
  await benchSinks({
    databaseUrl: database.databaseUrl,
    pool,
    writers: lagWriters,
    appendSeconds: APPEND_SECONDS,
    appendFor: async (seconds) => {
      const writers = Array.from({ length: 8 }, () => createPool(database.databaseUrl, log, 1));
      const started = performance.now();
      const appended = await appendFor(writers, seconds, false);
      const ms = performance.now() - started;
      await Promise.all(writers.map((writer) => writer.end()));
      return { appended, ms };
    },
  });
  await Promise.all(lagWriters.map((writer) => writer.end()));
} finally {
  await pool.end();
  await database.drop();
}
