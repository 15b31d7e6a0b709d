/**
 * `npm run bench:audit`: the audit chain's cost.
 *
 * 1. Appends with the chain (advisory lock, head read, hash, insert + NOTIFY, commit), one
 *    event per transaction, from 1 and from 8 concurrent writers on separate connections.
 * 2. Seeds EVENTS (default 1,000,000) chained events in batches (hashes computed here,
 *    rows inserted 5,000 at a time through unnest), then exports the whole range in every
 *    format through the same streaming code the API uses, into a sink that applies
 *    backpressure like a socket, sampling RSS and heap every 10 ms.
 *
 * Targets (issue #7): ≥ 2,000 appends/s; exports > 50,000 events/s with flat memory.
 */
import { Writable } from 'node:stream';
import { EXPORT_FORMATS, type AuditEventView } from '../../shared/audit.ts';
import { eventHash, GENESIS_HASH } from '../../server/audit/chain.ts';
import { streamAuditExport } from '../../server/audit/export/streamExport.ts';
import { recordAuditEvent } from '../../server/audit/record.ts';
import { verifyAuditChain } from '../../server/audit/verify.ts';
import { migrate } from '../../server/db/migrate.ts';
import { createPool, query, withTransaction, type Pool } from '../../server/db/pool.ts';
import { createLogger } from '../../server/log.ts';
import { benchDatabase } from './benchSetup.ts';

const EVENTS = Number(process.env.EVENTS ?? 1_000_000);
const APPEND_SECONDS = Number(process.env.APPEND_SECONDS ?? 5);
const SEED_BATCH = 5_000;

const log = createLogger('silent');
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const rate = (count: number, ms: number) => Math.round((count / ms) * 1000).toLocaleString('en');

async function appendFor(pools: Pool[], seconds: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let appended = 0;
  await Promise.all(
    pools.map(async (pool, writer) => {
      while (performance.now() < deadline) {
        await withTransaction(pool, (client) =>
          recordAuditEvent(client, { actor: { id: '00000000-0000-4000-8000-000000000001', username: `writer${writer}` }, ip: '10.0.0.1', userAgent: 'bench' }, {
            action: 'model.access',
            outcome: 'success',
            model: 'demo',
            details: { writer, n: appended },
          }),
        );
        appended += 1;
      }
    }),
  );
  return appended;
}

async function benchAppends(databaseUrl: string, pool: Pool): Promise<void> {
  for (const writers of [1, 8]) {
    const pools = Array.from({ length: writers }, () => createPool(databaseUrl, log, 1));
    const started = performance.now();
    const appended = await appendFor(pools, APPEND_SECONDS);
    const ms = performance.now() - started;
    await Promise.all(pools.map((p) => p.end()));
    console.log(`append, ${writers} writer${writers > 1 ? 's' : ''}: ${appended} events in ${(ms / 1000).toFixed(1)} s = ${rate(appended, ms)} events/s`);
  }
  const verification = await verifyAuditChain(pool);
  if (!verification.intact) throw new Error(`the chain broke under concurrent appends: ${JSON.stringify(verification)}`);
  console.log(`chain after appends: intact, ${verification.checked} events`);
}

const ACTIONS = ['auth.signin', 'auth.signin_failed', 'model.access', 'grant.issued', 'key.registered', 'user.disabled'] as const;

/** Continues the chain from its head with `count` synthetic events, in batches. */
async function seed(pool: Pool, count: number): Promise<void> {
  const { rows } = await query<{ seq: string; hash: string }>(pool, 'bench_head', 'SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1');
  let seq = Number(rows[0]?.seq ?? 0);
  let prevHash = rows[0]?.hash ?? GENESIS_HASH;
  const start = Date.now() - count;
  const started = performance.now();
  for (let done = 0; done < count; ) {
    const batch: AuditEventView[] = [];
    for (let i = 0; i < SEED_BATCH && done < count; i += 1, done += 1) {
      seq += 1;
      const action = ACTIONS[seq % ACTIONS.length]!;
      const event = {
        seq,
        time: new Date(start + done).toISOString(),
        actorId: '00000000-0000-4000-8000-000000000001',
        actorUsername: `user${seq % 500}`,
        action,
        targetType: 'user',
        targetId: `00000000-0000-4000-8000-${String(seq % 1000).padStart(12, '0')}`,
        outcome: action === 'auth.signin_failed' ? ('failure' as const) : ('success' as const),
        severity: action === 'user.disabled' ? ('high' as const) : ('info' as const),
        ip: `10.0.${(seq >> 8) % 256}.${seq % 256}`,
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36',
        model: action === 'model.access' ? 'restricted-demo' : null,
        details: { n: seq, note: 'benchmark, "seeded"' },
      };
      const hash = eventHash(prevHash, event);
      batch.push({ ...event, prevHash, hash });
      prevHash = hash;
    }
    const column = <K extends keyof AuditEventView>(key: K) => batch.map((e) => e[key]);
    await query(
      pool,
      'bench_seed',
      `INSERT INTO audit_event (seq, time, actor_id, actor_username, action, target_type, target_id, outcome, severity, ip, user_agent, model, details, prev_hash, hash)
       SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                            $9::text[], $10::text[], $11::text[], $12::text[], $13::jsonb[], $14::text[], $15::text[])`,
      [
        column('seq'),
        column('time'),
        column('actorId'),
        column('actorUsername'),
        column('action'),
        column('targetType'),
        column('targetId'),
        column('outcome'),
        column('severity'),
        column('ip'),
        column('userAgent'),
        column('model'),
        batch.map((e) => JSON.stringify(e.details)),
        column('prevHash'),
        column('hash'),
      ],
    );
  }
  await query(pool, 'bench_analyze', 'ANALYZE audit_event');
  console.log(`seeded ${count.toLocaleString('en')} chained events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
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
const pool = createPool(database.databaseUrl, log, 10);
try {
  await migrate(pool, log);
  console.log(`bench:audit — ${EVENTS.toLocaleString('en')} events to export; appends for ${APPEND_SECONDS} s per run`);
  await benchAppends(database.databaseUrl, pool);
  await seed(pool, EVENTS);
  const { rows } = await query<{ seq: string }>(pool, 'bench_head', 'SELECT max(seq) AS seq FROM audit_event');
  await benchExports(pool, Number(rows[0]!.seq));
} finally {
  await pool.end();
  await database.drop();
}
