/**
 * `npm run bench:http`: what Argus's HTTP stack costs per request, against a plain Express 5
 * hello-world measured on the same machine in the same run (the floor).
 *
 * Load comes from autocannon (run in this process, `CONNECTIONS` keep-alive connections, a
 * warm-up before each measured run); each server is a process of its own:
 * - floor: `express()` answering GET / with "Hello World!" (this file, BENCH_HTTP_ROLE=floor);
 * - Argus `GET /healthz`, one worker;
 * - Argus `GET /api/session` with a fully signed-in session cookie (session read, signature
 *   check, user row, the whole API middleware), one worker;
 * - the same with ARGUS_WORKERS=`WORKERS` (node:cluster, server/main.ts);
 * - the floor once more at the end, so drift over the run (other tenants) shows.
 * Argus runs as `npm start` does (server/main.ts), so one and two workers start the same way.
 * Reported: req/s, latency p50/p99, each as a ratio to the first floor, and the servers' CPU time
 * per request (all of a server's processes, from /proc), with the load average.
 *
 * Env: DURATION (s, 10), WARMUP (s, 3), CONNECTIONS (50), WORKERS (2), PROF=1 (CPU profiles of
 * Argus into /tmp/prof), ONLY (comma list of runs: floor,healthz,session,workers).
 */
import autocannon from 'autocannon';
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

if (process.env.BENCH_HTTP_ROLE === 'floor') {
  // The floor: Express 5's own hello-world, nothing else.
  const { default: express } = await import('express');
  const app = express();
  app.get('/', (_req, res) => {
    res.send('Hello World!');
  });
  const server = app.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
  process.on('message', (message) => {
    if (message !== 'stop') return;
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
} else {
  await main();
}

async function main(): Promise<void> {
  const { createPool } = await import('../../server/db/pool.ts');
  const { createLogger } = await import('../../server/log.ts');
  const { loadConfig } = await import('../../server/config.ts');
  const { benchDatabase, enrollOverHttp } = await import('./benchSetup.ts');

  const DURATION = Number(process.env.DURATION ?? 10);
  const WARMUP = Number(process.env.WARMUP ?? 3);
  const CONNECTIONS = Number(process.env.CONNECTIONS ?? 50);
  const WORKERS = Number(process.env.WORKERS ?? 2);
  const ONLY = new Set((process.env.ONLY ?? 'floor,healthz,session,workers').split(','));
  const profile = process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [];

  interface Measured {
    name: string;
    rps: number;
    p50: number;
    p99: number;
    /** CPU time of the server's processes per request, in µs. */
    cpuUs: number;
    non2xx: number;
  }

  /** utime + stime (ms) of a process and every process under it (cluster workers). */
  function treeCpuMs(rootPid: number): number {
    const stats = new Map<number, { ppid: number; ticks: number }>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
        // Fields after the command name (which may hold spaces), from field 3 (state) on.
        const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
        stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
      } catch {
        // Gone between the listing and the read.
      }
    }
    let ticks = 0;
    const walk = (pid: number) => {
      ticks += stats.get(pid)?.ticks ?? 0;
      for (const [child, stat] of stats) if (stat.ppid === pid) walk(child);
    };
    walk(rootPid);
    return ticks * 10; // USER_HZ is 100 on Linux
  }

  async function measure(name: string, pid: number, url: string, headers: Record<string, string> = {}): Promise<Measured> {
    const options = { url, connections: CONNECTIONS, headers, pipelining: 1 };
    await autocannon({ ...options, duration: WARMUP });
    const cpuBefore = treeCpuMs(pid);
    const result = await autocannon({ ...options, duration: DURATION });
    const cpuMs = treeCpuMs(pid) - cpuBefore;
    return {
      name,
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      cpuUs: (cpuMs * 1000) / Math.max(1, result.requests.total),
      non2xx: result.non2xx + result.errors + result.timeouts,
    };
  }

  async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
  }

  async function startFloor(): Promise<{ child: ChildProcess; url: string }> {
    const child = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, BENCH_HTTP_ROLE: 'floor' } });
    const { port } = await new Promise<{ port: number }>((resolve) => child.once('message', (m) => resolve(m as { port: number })));
    return { child, url: `http://127.0.0.1:${port}/` };
  }

  async function stopChild(child: ChildProcess, how: 'message' | 'signal'): Promise<void> {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (how === 'message') child.send('stop');
    else child.kill('SIGTERM');
    await exited;
  }

  /** Argus as `npm start` runs it (server/main.ts, the API and the SPA), once /readyz answers. */
  async function startArgusProcess(env: Record<string, string>, workers: number): Promise<{ child: ChildProcess; url: string }> {
    const port = await freePort();
    const child = fork(fileURLToPath(new URL('../../server/main.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx', ...profile],
      env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', ARGUS_WORKERS: String(workers) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`Argus exited with ${child.exitCode}`);
      const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
      if (ready) break;
      if (Date.now() > deadline) throw new Error('Argus did not become ready');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return { child, url };
  }

  const database = await benchDatabase();
  const env = database.nodeEnv();
  const config = loadConfig({ ...env });
  const pool = createPool(config.databaseUrl!, createLogger('silent'), 1);
  const results: Measured[] = [];
  console.log(`autocannon -c ${CONNECTIONS}, ${WARMUP} s warm-up then ${DURATION} s measured per run; load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  try {
    const runFloor = async (name: string) => {
      const floor = await startFloor();
      try {
        results.push(await measure(name, floor.child.pid!, floor.url));
      } finally {
        await stopChild(floor.child, 'message');
      }
    };
    if (ONLY.has('floor')) await runFloor('floor: Express 5 hello-world');

    let cookie = '';
    if (ONLY.has('healthz') || ONLY.has('session') || ONLY.has('workers')) {
      const argus = await startArgusProcess(env, 1);
      try {
        const user = await enrollOverHttp({ baseUrl: argus.url, pool, config });
        cookie = user.cookie;
        const check = (await (await fetch(`${argus.url}/api/session`, { headers: { cookie } })).json()) as { signedIn: boolean };
        if (!check.signedIn) throw new Error('the bench user is not signed in');
        if (ONLY.has('healthz')) results.push(await measure('Argus GET /healthz, 1 worker', argus.child.pid!, `${argus.url}/healthz`));
        if (ONLY.has('session')) results.push(await measure('Argus GET /api/session (signed in), 1 worker', argus.child.pid!, `${argus.url}/api/session`, { cookie }));
      } finally {
        await stopChild(argus.child, 'signal');
      }
    }
    if (ONLY.has('workers')) {
      const argus = await startArgusProcess(env, WORKERS);
      try {
        results.push(await measure(`Argus GET /api/session (signed in), ${WORKERS} workers`, argus.child.pid!, `${argus.url}/api/session`, { cookie }));
      } finally {
        await stopChild(argus.child, 'signal');
      }
    }
    if (ONLY.has('floor')) await runFloor('floor again (drift check)');
  } finally {
    await pool.end();
    await database.drop();
  }

  const floor = results[0]!;
  const oneWorker = results.find((r) => r.name.includes('/api/session') && r.name.endsWith('1 worker'));
  // Throughput is the share of the cores a server gets; CPU time per request is what it spends on
  // each, which stays comparable on a shared machine whose other tenants take that share away.
  console.log(`\nrun | req/s (× floor) | p50 ms | p99 ms | server CPU per request (× floor) | non-2xx/errors`);
  for (const r of results) {
    const vsWorker = oneWorker && r !== oneWorker && r.name.includes('/api/session') ? `, × ${(r.rps / oneWorker.rps).toFixed(2)} one worker` : '';
    console.log(
      `${r.name} | ${r.rps.toFixed(0)} (× ${(r.rps / floor.rps).toFixed(2)}${vsWorker}) | ${r.p50} | ${r.p99} | ${r.cpuUs.toFixed(0)} µs (× ${(r.cpuUs / floor.cpuUs).toFixed(2)}) | ${r.non2xx}`,
    );
  }
  console.log(`load average at end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}
