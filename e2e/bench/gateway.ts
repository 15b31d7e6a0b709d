/**
 * `npm run bench:gateway`: what Argus adds on top of the model server it fronts.
 *
 * A local OpenAI-compatible upstream streams 256-token answers. Each stream is run directly
 * against it and through Argus (POST /api/chat/stream, a standard model), at 1, 10 and 100
 * concurrent streams, in the same run. The load generator, the model server and the Argus
 * node are three processes, so the direct path crosses a process boundary as a real one does.
 * Reported: time to first token and total time (p50, p99), Argus ÷ direct and added
 * milliseconds, throughput (tokens per second across all streams), and Argus's CPU time per
 * stream. Also, as the floor: what a bare node:http proxy (bareProxy.ts) adds, doing nothing
 * but forward, on the same machine in the same run, and its CPU time per stream.
 *
 * Three ways to hold N streams open, each reported:
 * - steady: N clients each start their next stream as soon as the last ends, their first
 *   starts spread over one stream's length; N streams are always open and they start at
 *   different moments, as users do. Throughput = N × tokens ÷ mean stream time (Little's law).
 * - burst: N streams start at the same instant, and the next N when all have ended (the
 *   worst case: N requests queue for Argus's one event loop at once). Throughput = tokens ÷ wall time.
 * - paired: N clients as in steady, but each runs its streams through every path in turn
 *   (direct, bare proxy, Argus, in a rotating order), so all paths are measured at the same
 *   moments and noise that drifts over a run (other tenants of a shared machine) falls on all
 *   alike. About N ÷ paths streams are open through each. Throughput = that share × tokens ÷
 *   mean stream time, so its ratio is the ratio of stream times.
 *
 * Env: LEVELS (1,10,100), SAMPLES (streams per cell, 100), WARMUP (streams through each path before
 * measuring, 1000), TOKENS (256), TOKEN_DELAY_MS (1),
 * MODES (steady,burst; also paired), FLOOR=0 (skip the bare proxy), TIER=restricted (the model is restricted and
 * the session unlocks it first, so each stream also passes the grant check), PROF=<dir> (CPU profiles
 * of the Argus node into <dir>/argus and of the bare proxy into <dir>/bare-proxy; PROF=1 means
 * /tmp/prof-gateway), PIN=1 (after the tables above, the same again with Argus
 * and the bare proxy pinned to core 1 and the model server and load generator to core 0 with
 * `taskset`: the stand-in for a gateway on a host of its own. Redis is shared with the rest of
 * the machine and is left where the scheduler puts it).
 */
import { execFileSync, fork } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { loadavg } from 'node:os';
import { createPool } from '../../server/db/pool.ts';
import { createLogger } from '../../server/log.ts';
import { benchDatabase, enrollOverHttp, unlockOverHttp } from './benchSetup.ts';
import { loadConfig } from '../../server/config.ts';

const TOKENS = Number(process.env.TOKENS ?? 256);
const MODES = (process.env.MODES ?? 'steady,burst').split(',') as Array<'steady' | 'burst' | 'paired'>;
const LEVELS = (process.env.LEVELS ?? '1,10,100').split(',').map(Number);
const SAMPLES = Number(process.env.SAMPLES ?? 100);
const ORIGIN = 'http://bench.argus';
const clientAgent = new Agent({ keepAlive: true, maxSockets: 1_000 });

interface Sample {
  ttft: number;
  total: number;
}

/**
 * POSTs and reads the SSE answer to the end with node:http (keep-alive), noting when the first
 * text arrived. The load generator shares the machine's two cores with everything it measures,
 * so it must be light: fetch's web streams cost more per chunk than the proxy being measured.
 */
function timeStream(url: string, headers: Record<string, string>, body: string, isContent: (data: string) => boolean): Promise<Sample> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', agent: clientAgent, headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`${url} answered ${response.statusCode}`));
        return;
      }
      response.setEncoding('utf8');
      let buffer = '';
      let ttft = 0;
      response.on('data', (chunk: string) => {
        if (ttft) return;
        buffer += chunk;
        if (buffer.split('\n').some((line) => line.startsWith('data:') && isContent(line.slice(5).trim()))) ttft = performance.now() - started;
      });
      response.on('end', () => resolve({ ttft, total: performance.now() - started }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface Cell {
  samples: Sample[];
  tokensPerSecond: number;
  /** Streams run through the path in the cell, counted or not (CPU per stream divides by these). */
  streams: number;
}

/** N streams at once, then the next N when all have ended. */
async function burst(concurrency: number, once: () => Promise<Sample>): Promise<Cell> {
  const samples: Sample[] = [];
  let wall = 0;
  while (samples.length < Math.max(SAMPLES, concurrency)) {
    const started = performance.now();
    samples.push(...(await Promise.all(Array.from({ length: concurrency }, once))));
    wall += performance.now() - started;
  }
  return { samples, tokensPerSecond: (samples.length * TOKENS) / (wall / 1000), streams: samples.length };
}

/** N clients, each opening its next stream when the last ends; first starts spread over one stream. */
async function steady(concurrency: number, once: () => Promise<Sample>, streamMs: number): Promise<Cell> {
  const perClient = Math.max(2, Math.ceil(SAMPLES / concurrency) + 1);
  const samples: Sample[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      await new Promise((resolve) => setTimeout(resolve, (client / concurrency) * streamMs));
      // The first stream of each client runs while the others are still ramping up: not counted.
      await once();
      for (let i = 1; i < perClient; i += 1) samples.push(await once());
    }),
  );
  const meanTotal = samples.reduce((sum, s) => sum + s.total, 0) / samples.length;
  return { samples, tokensPerSecond: (concurrency * TOKENS) / (meanTotal / 1000), streams: samples.length + concurrency };
}

/** N clients as in steady, each taking every path in turn: one cell per path, measured at the same moments. */
async function paired(concurrency: number, paths: Array<() => Promise<Sample>>, streamMs: number): Promise<Cell[]> {
  const perClient = Math.max(2, Math.ceil(SAMPLES / concurrency));
  const samples = paths.map((): Sample[] => []);
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      await new Promise((resolve) => setTimeout(resolve, (client / concurrency) * streamMs * paths.length));
      for (const once of paths) await once(); // not counted: the others are still ramping up
      for (let round = 0; round < perClient; round += 1) {
        for (let step = 0; step < paths.length; step += 1) {
          const path = (round + step + client) % paths.length;
          samples[path]!.push(await paths[path]!());
        }
      }
    }),
  );
  return samples.map((cell) => {
    const meanTotal = cell.reduce((sum, s) => sum + s.total, 0) / cell.length;
    return { samples: cell, tokensPerSecond: ((concurrency / paths.length) * TOKENS) / (meanTotal / 1000), streams: cell.length + concurrency };
  });
}

const WARMUP = Number(process.env.WARMUP ?? 1_000);

/** WARMUP streams, fifty at a time. */
async function warmUp(once: () => Promise<Sample>): Promise<void> {
  let left = WARMUP;
  await Promise.all(
    Array.from({ length: Math.min(50, WARMUP) }, async () => {
      while (left > 0) {
        left -= 1;
        await once();
      }
    }),
  );
}

const TOKEN_DELAY_MS = Number(process.env.TOKEN_DELAY_MS ?? 1);
const FLOOR = process.env.FLOOR !== '0';
const TIER = process.env.TIER === 'restricted' ? 'restricted' : 'standard';

/** A benchmark process (Argus node, model server, bare proxy) and its IPC replies, in order. */
function benchChild(script: string, execArgv: string[], env: NodeJS.ProcessEnv) {
  const child = fork(new URL(script, import.meta.url).pathname, [], { execArgv: ['--import', 'tsx', ...execArgv], env: { ...process.env, ...env } });
  const replies: Array<(m: Record<string, unknown>) => void> = [];
  child.on('message', (m: Record<string, unknown>) => replies.shift()?.(m));
  const ask = (message?: string) => {
    const reply = new Promise<Record<string, unknown>>((resolve) => replies.push(resolve));
    if (message) child.send(message);
    return reply;
  };
  /** CPU time since the last 'measure-cpu', in ms. */
  const cpuMs = async () => ((await ask('report')).report as { cpuMs: number }).cpuMs;
  const stop = async () => {
    child.send('stop');
    await new Promise((resolve) => child.once('exit', resolve));
  };
  return { ask, cpuMs, stop, pid: child.pid! };
}

/** Streams that failed (a connection reset on a loaded machine), by path: tried again up to twice, and reported with each row. */
const failures = new Map<string, number>();
function retried(path: string, once: () => Promise<Sample>): () => Promise<Sample> {
  return async () => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await once();
      } catch (error) {
        failures.set(path, (failures.get(path) ?? 0) + 1);
        if (attempt === 2) throw error;
      }
    }
  };
}

const PIN = process.env.PIN === '1';

/** Pins a process and every thread it has (tsx's loader, libuv's pool) to one core; threads it starts later inherit it. */
function pin(pid: number, core: number): void {
  execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', String(core), String(pid)], { stdio: 'ignore' });
}

const upstream = benchChild('./upstreamNode.ts', [], { TOKENS: String(TOKENS), TOKEN_DELAY_MS: String(TOKEN_DELAY_MS) });
const upstreamUrl = (await upstream.ask()).ready as string;
// Each profiled process writes into a folder of its own, so the two are never confused with each other (or with another bench's).
const PROF = process.env.PROF === '1' ? '/tmp/prof-gateway' : process.env.PROF;
const profiled = (name: string) => (PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}/${name}`] : []);
const bareProxy = FLOOR ? benchChild('./bareProxy.ts', profiled('bare-proxy'), { UPSTREAM: upstreamUrl }) : null;
const bareProxyUrl = bareProxy ? ((await bareProxy.ask()).ready as string) : '';

const database = await benchDatabase();
// The bench's upstream listens on 127.0.0.1, inside Argus's network: allowed by address.
const env = database.nodeEnv({ ARGUS_ORIGIN: ORIGIN, CHAT_REQUESTS_PER_MINUTE: '100000', CHAT_MAX_CONCURRENT_STREAMS: '1000', MODEL_HOST_ALLOWLIST: '127.0.0.1' });
const config = loadConfig(env);
const argus = benchChild('./argusNode.ts', profiled('argus'), env);
const url = (await argus.ask()).ready as string;
const pool = createPool(config.databaseUrl!, createLogger('silent'), 1);

try {
  await pool.query(
    `INSERT INTO model (id, display_name, provider, base_url, upstream_model, tier, grant_seconds, max_output_tokens) VALUES ('bench', 'Bench', 'openai', $1, 'bench', $2, 3600, 1024)`,
    [upstreamUrl, TIER],
  );
  const user = await enrollOverHttp({ baseUrl: url, pool, config });
  if (TIER === 'restricted') await unlockOverHttp({ baseUrl: url, config }, user);

  const openAiStream = (baseUrl: string) => (): Promise<Sample> =>
    timeStream(`${baseUrl}/chat/completions`, {}, JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'user', content: 'hi' }] }), (data) =>
      data.includes('"content"'),
    );
  const direct = retried('direct', openAiStream(upstreamUrl));
  const viaBareProxy = retried('bare proxy', openAiStream(bareProxyUrl));
  const viaArgus = retried('Argus', (): Promise<Sample> =>
    timeStream(`${url}/api/chat/stream`, { origin: ORIGIN, cookie: user.cookie }, JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hi' }] }), (data) =>
      data.includes('"delta"'),
    ),
  );

  console.log(`${TOKENS}-token streams from a ${TIER} model, upstream token delay ${TOKEN_DELAY_MS} ms, at least ${SAMPLES} streams per cell; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  // A node in service has run its request path thousands of times and V8 has compiled it; a
  // fresh node runs it in the interpreter. Each path is measured warm: WARMUP streams through each first.
  for (const once of FLOOR ? [direct, viaBareProxy, viaArgus] : [direct, viaArgus]) await warmUp(once);
  // One stream's length, to spread the steady clients' first starts over.
  const streamMs = (await direct()).total;
  failures.clear();
  await tables(streamMs, { direct, viaBareProxy, viaArgus });
  if (PIN) {
    // The gateway's own core: Argus, and the bare proxy it is compared with, on core 1; whatever
    // stands for the rest of the world (model server, clients) on core 0.
    pin(argus.pid, 1);
    if (bareProxy) pin(bareProxy.pid, 1);
    pin(upstream.pid, 0);
    pin(process.pid, 0);
    console.log(`\n=== pinned (taskset): Argus and the bare proxy on core 1, model server and load generator on core 0, Redis unpinned; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} ===`);
    await tables(streamMs, { direct, viaBareProxy, viaArgus });
  }
} finally {
  await argus.stop();
  await pool.end();
  await bareProxy?.stop();
  await upstream.stop();
  await database.drop();
}

/** Every mode's table, each at every level. */
async function tables(streamMs: number, { direct, viaBareProxy, viaArgus }: Record<'direct' | 'viaBareProxy' | 'viaArgus', () => Promise<Sample>>): Promise<void> {
  for (const mode of MODES) {
    const heading = {
      steady: 'steady: N streams always open, starting at different moments',
      burst: 'burst: N streams starting at the same instant',
      paired: 'paired: N streams always open, each client taking direct, bare proxy and Argus in turn',
    };
    console.log(`\n${heading[mode]}`);
    console.log(`concurrency | TTFT p50 direct → Argus (added, ratio) | TTFT p99 direct → Argus | total p50 direct → Argus (ratio) | throughput tok/s direct → Argus (ratio) | Argus CPU per stream${FLOOR ? ' | bare proxy: TTFT p50 added, throughput ratio, CPU per stream | Argus vs bare proxy' : ''}`);
    for (const concurrency of LEVELS) {
      let d: Cell, f: Cell | null, a: Cell;
      let floorCpuMs = 0;
      if (mode === 'paired') {
        await argus.ask('measure-cpu');
        await bareProxy?.ask('measure-cpu');
        const cells = await paired(concurrency, FLOOR ? [direct, viaBareProxy, viaArgus] : [direct, viaArgus], streamMs);
        [d, f, a] = FLOOR ? [cells[0]!, cells[1]!, cells[2]!] : [cells[0]!, null, cells[1]!];
      } else {
        const cell = (once: () => Promise<Sample>) => (mode === 'steady' ? steady(concurrency, once, streamMs) : burst(concurrency, once));
        await cell(direct); // warm-up
        d = await cell(direct);
        await bareProxy?.ask('measure-cpu');
        f = FLOOR ? await cell(viaBareProxy) : null;
        if (bareProxy) floorCpuMs = await bareProxy.cpuMs();
        await argus.ask('measure-cpu');
        a = await cell(viaArgus);
      }
      const cpuMs = await argus.cpuMs();
      if (mode === 'paired' && bareProxy) floorCpuMs = await bareProxy.cpuMs();
      const ttft = (r: Cell, q: number) => percentile(r.samples.map((s) => s.ttft), q);
      const total = (r: Cell, q: number) => percentile(r.samples.map((s) => s.total), q);
      console.log(
        `${String(concurrency).padStart(11)} | ${ttft(d, 0.5).toFixed(2)} → ${ttft(a, 0.5).toFixed(2)} ms (+${(ttft(a, 0.5) - ttft(d, 0.5)).toFixed(2)} ms, ×${(ttft(a, 0.5) / ttft(d, 0.5)).toFixed(2)})` +
          ` | ${ttft(d, 0.99).toFixed(2)} → ${ttft(a, 0.99).toFixed(2)} ms` +
          ` | ${total(d, 0.5).toFixed(1)} → ${total(a, 0.5).toFixed(1)} ms (×${(total(a, 0.5) / total(d, 0.5)).toFixed(3)})` +
          ` | ${d.tokensPerSecond.toFixed(0)} → ${a.tokensPerSecond.toFixed(0)} (×${(a.tokensPerSecond / d.tokensPerSecond).toFixed(3)})` +
          ` | ${(cpuMs / a.streams).toFixed(2)} ms` +
          (f ? ` | +${(ttft(f, 0.5) - ttft(d, 0.5)).toFixed(2)} ms, ×${(f.tokensPerSecond / d.tokensPerSecond).toFixed(3)}, ${(floorCpuMs / f.streams).toFixed(2)} ms CPU per stream` : '') +
          // Argus against the bare proxy, as issue #24's targets are stated: CPU ratio, TTFT p50 added on top of the proxy's, throughput ratio.
          (f
            ? ` | Argus vs bare proxy: CPU ×${(cpuMs / a.streams / (floorCpuMs / f.streams)).toFixed(2)}, TTFT p50 ${ttft(a, 0.5) - ttft(f, 0.5) >= 0 ? '+' : ''}${(ttft(a, 0.5) - ttft(f, 0.5)).toFixed(2)} ms, throughput ×${(a.tokensPerSecond / f.tokensPerSecond).toFixed(3)}`
            : '') +
          (failures.size ? ` | failed and retried: ${[...failures].map(([path, n]) => `${path} ${n}`).join(', ')}` : ''),
      );
      failures.clear();
    }
  }
}
