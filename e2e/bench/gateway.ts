/**
 * `npm run bench:gateway`: what Argus adds on top of the model server it fronts.
 *
 * A local OpenAI-compatible upstream streams 256-token answers. Each stream is run directly
 * against it and through Argus (POST /api/chat/stream, a standard model, Argus in a child
 * process of its own), at 1, 10 and 100 concurrent streams, in the same run. Reported: time
 * to first token and total time (p50, p99), Argus ÷ direct and added milliseconds, and
 * throughput (tokens per second across all streams).
 */
import { fork } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { createPool } from '../../server/db/pool.ts';
import { createLogger } from '../../server/log.ts';
import { FakeOpenAI } from '../../server/test/fakeOpenAI.ts';
import { benchDatabase, enrollOverHttp } from './benchSetup.ts';
import { loadConfig } from '../../server/config.ts';

const TOKENS = 256;
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
 * text arrived. The load generator shares a process with the upstream, so it must be light:
 * fetch's web streams cost more per chunk than the proxy being measured.
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

async function run(concurrency: number, once: () => Promise<Sample>): Promise<{ samples: Sample[]; tokensPerSecond: number }> {
  const samples: Sample[] = [];
  let wall = 0;
  while (samples.length < Math.max(SAMPLES, concurrency)) {
    const started = performance.now();
    samples.push(...(await Promise.all(Array.from({ length: concurrency }, once))));
    wall += performance.now() - started;
  }
  return { samples, tokensPerSecond: (samples.length * TOKENS) / (wall / 1000) };
}

const fake = await FakeOpenAI.start();
fake.tokens = TOKENS;
fake.tokenDelayMs = Number(process.env.TOKEN_DELAY_MS ?? 1);

const database = await benchDatabase();
const env = database.nodeEnv({ ARGUS_ORIGIN: ORIGIN, CHAT_REQUESTS_PER_MINUTE: '100000', CHAT_MAX_CONCURRENT_STREAMS: '1000' });
const config = loadConfig(env);
const child = fork(new URL('./argusNode.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx', ...(process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [])], env: { ...process.env, ...env } });
const url = await new Promise<string>((resolve) => child.once('message', (m: { ready: string }) => resolve(m.ready)));
const pool = createPool(config.databaseUrl!, createLogger('silent'), 1);

try {
  await pool.query(`INSERT INTO model (id, display_name, provider, base_url, upstream_model, tier, max_output_tokens) VALUES ('bench', 'Bench', 'openai', $1, 'bench', 'standard', 1024)`, [fake.baseUrl]);
  const { cookie } = await enrollOverHttp({ baseUrl: url, pool, config });

  const direct = (): Promise<Sample> =>
    timeStream(`${fake.baseUrl}/chat/completions`, {}, JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'user', content: 'hi' }] }), (data) =>
      data.includes('"content"'),
    );
  const viaArgus = (): Promise<Sample> =>
    timeStream(`${url}/api/chat/stream`, { origin: ORIGIN, cookie }, JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hi' }] }), (data) =>
      data.includes('"delta"'),
    );

  console.log(`256-token streams, upstream token delay ${fake.tokenDelayMs} ms, at least ${SAMPLES} streams per cell\n`);
  console.log('concurrency | TTFT p50 direct → Argus (added, ratio) | TTFT p99 direct → Argus | total p50 direct → Argus (ratio) | throughput tok/s direct → Argus (ratio)');
  for (const concurrency of LEVELS) {
    await run(concurrency, direct); // warm-up
    const d = await run(concurrency, direct);
    const a = await run(concurrency, viaArgus);
    const ttft = (r: typeof d, q: number) => percentile(r.samples.map((s) => s.ttft), q);
    const total = (r: typeof d, q: number) => percentile(r.samples.map((s) => s.total), q);
    console.log(
      `${String(concurrency).padStart(11)} | ${ttft(d, 0.5).toFixed(2)} → ${ttft(a, 0.5).toFixed(2)} ms (+${(ttft(a, 0.5) - ttft(d, 0.5)).toFixed(2)} ms, ×${(ttft(a, 0.5) / ttft(d, 0.5)).toFixed(2)})` +
        ` | ${ttft(d, 0.99).toFixed(2)} → ${ttft(a, 0.99).toFixed(2)} ms` +
        ` | ${total(d, 0.5).toFixed(1)} → ${total(a, 0.5).toFixed(1)} ms (×${(total(a, 0.5) / total(d, 0.5)).toFixed(3)})` +
        ` | ${d.tokensPerSecond.toFixed(0)} → ${a.tokensPerSecond.toFixed(0)} (×${(a.tokensPerSecond / d.tokensPerSecond).toFixed(3)})`,
    );
  }
} finally {
  child.send('stop');
  await new Promise((resolve) => child.once('exit', resolve));
  await pool.end();
  await fake.stop();
  await database.drop();
}
