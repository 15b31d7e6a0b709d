/**
 * `npm run bench:signin`: what a password costs and what a flood of sign-ins does.
 *
 * 1. Argon2id (m = 48 MiB, t = 3, p = 1) hash and verify time, sequentially.
 * 2. A real Argus node (real Postgres and Redis, rate limits lifted so every attempt
 *    reaches the hashing path) hit by 200 concurrent sign-in attempts: with the default
 *    limits (excess shed with 503 before any other work), with a queue deep enough for all
 *    200, and with a hash thread on every core (the default before issue #24, for the ratio).
 *    Reports throughput, latency, status mix, event-loop lag and peak memory. `PROFILE=<dir>`
 *    writes the node's CPU profile (--cpu-prof) there.
 */
import argon2 from 'argon2';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { ARGON2_OPTIONS } from '../../server/auth/password.ts';
import { loadConfig } from '../../server/config.ts';
import { createPool } from '../../server/db/pool.ts';
import { createLogger } from '../../server/log.ts';
import { benchDatabase, enrollOverHttp } from './benchSetup.ts';

const FLOOD = Number(process.env.FLOOD ?? 200);
/** argusNode.ts's monitorEventLoopDelay resolution. */
const LAG_SAMPLING_MS = 5;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const ms = (n: number) => `${n.toFixed(1)} ms`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function hashTiming(): Promise<void> {
  const runs = 20;
  const hashTimes: number[] = [];
  const verifyTimes: number[] = [];
  let hash = '';
  for (let i = 0; i < runs; i += 1) {
    let t = performance.now();
    hash = await argon2.hash(`password-${i}-${randomBytes(4).toString('hex')}`, ARGON2_OPTIONS);
    hashTimes.push(performance.now() - t);
    t = performance.now();
    await argon2.verify(hash, 'not it');
    verifyTimes.push(performance.now() - t);
  }
  hashTimes.sort((a, b) => a - b);
  verifyTimes.sort((a, b) => a - b);
  console.log(`Argon2id m=48MiB t=3 p=1, ${runs} sequential runs`);
  console.log(`  hash    p50 ${ms(percentile(hashTimes, 50))}  p95 ${ms(percentile(hashTimes, 95))}  min ${ms(hashTimes[0]!)}`);
  console.log(`  verify  p50 ${ms(percentile(verifyTimes, 50))}  p95 ${ms(percentile(verifyTimes, 95))}`);
}

async function flood(label: string, env: Record<string, string>): Promise<void> {
  const database = await benchDatabase();
  const nodeEnv = database.nodeEnv({ SIGNIN_FAILURES_PER_USERNAME: '10000', ...env });
  const config = loadConfig(nodeEnv);
  const child = fork(new URL('./argusNode.ts', import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx', ...(process.env.PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE}`] : [])],
    env: { ...process.env, ...nodeEnv },
  });
  const messages: Array<(m: Record<string, unknown>) => void> = [];
  child.on('message', (m: Record<string, unknown>) => messages.shift()?.(m));
  const next = () => new Promise<Record<string, unknown>>((resolve) => messages.push(resolve));
  const url = (await next()).ready as string;
  const pool = createPool(config.databaseUrl!, createLogger('silent'), 1);
  try {
    const { password } = await enrollOverHttp({ baseUrl: url, pool, config }, 'bench', 'a long flood-test passphrase');
    const headers = { origin: config.origin, 'content-type': 'application/json' };

    const measuring = next();
    child.send('measure');
    await measuring;
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: FLOOD }, async (_, i) => {
        const t = performance.now();
        // Half right password (answered with the key step), a quarter wrong password, a quarter unknown users.
        const body = i % 2 === 0 ? { username: 'bench', password } : { username: i % 4 === 1 ? 'bench' : `ghost${i}`, password: 'wrong wrong wrong' };
        const response = await fetch(`${url}/api/auth/signin`, { method: 'POST', headers, body: JSON.stringify(body) });
        await response.arrayBuffer();
        return { status: response.status, ms: performance.now() - t };
      }),
    );
    const elapsed = performance.now() - started;
    const reply = next();
    child.send('report');
    const report = (await reply).report as { lagMeanMs: number; lagP99Ms: number; lagMaxMs: number; rssStart: number; rssPeak: number };

    const statuses = new Map<number, number>();
    for (const r of results) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    const hashed = results.filter((r) => r.status !== 503);
    const latencies = hashed.map((r) => r.ms).sort((a, b) => a - b);
    const shed = results.filter((r) => r.status === 503).map((r) => r.ms).sort((a, b) => a - b);
    console.log(`\n${label}: ${FLOOD} concurrent sign-in attempts (hash concurrency ${config.argon2.maxConcurrent}, queue ${config.argon2.maxQueue})`);
    console.log(`  wall time ${ms(elapsed)}; answered ${(FLOOD / (elapsed / 1000)).toFixed(0)} req/s; hashed ${(hashed.length / (elapsed / 1000)).toFixed(1)} attempts/s`);
    console.log(`  statuses  ${[...statuses].sort().map(([s, n]) => `${s}×${n}`).join('  ')}`);
    if (latencies.length) console.log(`  hashed    latency p50 ${ms(percentile(latencies, 50))}  p99 ${ms(percentile(latencies, 99))}`);
    if (shed.length) console.log(`  shed 503  latency p50 ${ms(percentile(shed, 50))}  p99 ${ms(percentile(shed, 99))}`);
    // The monitor's readings are whole intervals between its timer's runs, the 5 ms it asked for
    // included (an idle loop reads 5.0): the lag is what lies beyond that, as load monitors
    // (e.g. @fastify/under-pressure) report it. Both are printed; figures before this change were the first.
    const beyond = (reading: number) => ms(Math.max(0, reading - LAG_SAMPLING_MS));
    console.log(`  server event-loop delay readings (${LAG_SAMPLING_MS} ms sampling interval included)  mean ${ms(report.lagMeanMs)}  p99 ${ms(report.lagP99Ms)}  max ${ms(report.lagMaxMs)}`);
    console.log(`  server event-loop lag beyond the interval  mean ${beyond(report.lagMeanMs)}  p99 ${beyond(report.lagP99Ms)}  max ${beyond(report.lagMaxMs)}`);
    console.log(`  server memory  rss at start ${mib(report.rssStart)}, peak ${mib(report.rssPeak)} (+${mib(report.rssPeak - report.rssStart)})`);
  } finally {
    child.send('stop');
    await new Promise((resolve) => child.once('exit', resolve));
    await pool.end();
    await database.drop();
  }
}

const cores = availableParallelism();
await hashTiming();
await flood(`Default limits (a hash thread on all but one core: ${Math.max(1, Math.min(4, cores - 1))})`, {});
await flood('Queue deep enough for the whole flood', { ARGON2_MAX_QUEUE: String(FLOOD) });
// The default before issue #24: the event loop then shares its core with a hash thread.
await flood(`A hash thread on every core (${Math.min(4, cores)}, the default before issue #24)`, { ARGON2_MAX_CONCURRENT: String(Math.min(4, cores)) });
