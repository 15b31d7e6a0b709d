/**
 * `npm run bench:conversations`: what opening a restricted conversation costs (issue #21), over
 * HTTP, against opening a standard one of the same size, measured in the same run. Target:
 * under 5 ms added at p50 for 200 messages.
 *
 * One Argus node in this process, on a database of its own. Two conversations of the same user,
 * each of MESSAGES messages (alternating questions of ~120 characters and answers of ~1,500):
 * - standard (the floor): `GET /api/conversations/:id` reads the rows and answers;
 * - restricted: the same, plus what a restricted read adds: the grant check (Redis, the key's
 *   row), the data key unwrapped once, every message and the title decrypted (AES-256-GCM), and
 *   the `conversation.read` audit event appended to the hash chain.
 * The two are requested alternately (so drift on a shared machine falls on both alike), one at
 * a time on a keep-alive connection. Reported: p50/p99 of each, the restricted ÷ standard ratio
 * and the difference; the CPU time per request of each (this process: server and client), which
 * depends far less on the machine's load than wall time; then the decryption alone (unwrap +
 * MESSAGES opens), in-process.
 *
 * Env: SAMPLES (requests per conversation, 1000), WARMUP (100), MESSAGES (200).
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { loadConfig } from '../../server/config.ts';
import { dataKeysFor } from '../../server/crypto/dataKeys.ts';
import { insertConversation, insertEncryptedConversation, insertMessage } from '../../server/db/conversations.ts';
import { createLogger } from '../../server/log.ts';
import { startArgus } from '../../server/runtime.ts';
import { benchDatabase, enrollOverHttp, unlockOverHttp } from './benchSetup.ts';

const SAMPLES = Number(process.env.SAMPLES ?? 1_000);
const WARMUP = Number(process.env.WARMUP ?? 100);
const MESSAGES = Number(process.env.MESSAGES ?? 200);

const question = (i: number) => `Question ${i}: how does the grant check behave when the key is pulled mid-stream? `.padEnd(120, '.');
const answer = (i: number) => `Answer ${i}: `.padEnd(1_500, 'lorem ipsum dolor sit amet ');

const db = await benchDatabase();
const config = loadConfig(db.nodeEnv({ DATA_ENCRYPTION_KEYS: `bench:${Buffer.alloc(32, 3).toString('base64')}` }));
const node = await startArgus(config, createLogger('silent'), { serveClient: false });
try {
  const user = await enrollOverHttp({ baseUrl: node.url, pool: node.deps.pool, config });
  const pool = node.deps.pool;

  // The two conversations, written as the server writes them.
  const standard = await insertConversation(pool, { userId: user.userId, title: 'Standard', modelId: 'demo-standard' });
  const restrictedId = randomUUID();
  const { key, stored } = dataKeysFor(config).newDataKey(restrictedId);
  await insertEncryptedConversation(pool, { id: restrictedId, userId: user.userId, titleCt: key.sealTitle('Restricted'), modelId: 'demo-restricted', restrictedModels: ['demo-restricted'], wrappedDek: stored.wrapped, kekId: stored.kekId });
  for (let i = 0; i < MESSAGES; i++) {
    const role = i % 2 === 0 ? 'user' : 'assistant';
    const text = role === 'user' ? question(i) : answer(i);
    const modelId = role === 'assistant' ? 'demo-standard' : null;
    await insertMessage(pool, { id: randomUUID(), conversationId: standard.id, role, stored: { content: text }, modelId, status: 'complete' });
    const id = randomUUID();
    await insertMessage(pool, { id, conversationId: restrictedId, role, stored: { contentCt: key.sealMessage(id, role, text) }, modelId: role === 'assistant' ? 'demo-restricted' : null, status: 'complete' });
  }

  let unlockedAt = 0;
  const open = async (id: string): Promise<number> => {
    const started = performance.now();
    const response = await fetch(`${node.url}/api/conversations/${id}`, { headers: { cookie: user.cookie } });
    const body = (await response.json()) as { messages?: unknown[] };
    const ms = performance.now() - started;
    if (response.status !== 200 || body.messages?.length !== MESSAGES) throw new Error(`GET ${id}: ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
    return ms;
  };
  const times = { standard: [] as number[], restricted: [] as number[] };
  // CPU time of this process (server and client alike) per request: unlike wall time, it hardly
  // depends on what else the machine is running.
  const cpuUs = { standard: 0, restricted: 0 };
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    // The demo model's grant lasts five minutes: renewed well before.
    if (Date.now() - unlockedAt > 120_000) {
      await unlockOverHttp({ baseUrl: node.url, config }, user);
      unlockedAt = Date.now();
    }
    const order = i % 2 === 0 ? (['standard', 'restricted'] as const) : (['restricted', 'standard'] as const);
    for (const which of order) {
      const cpu = process.cpuUsage();
      const ms = await open(which === 'standard' ? standard.id : restrictedId);
      const used = process.cpuUsage(cpu);
      if (i >= WARMUP) {
        times[which].push(ms);
        cpuUs[which] += used.user + used.system;
      }
    }
  }

  // The decryption alone: unwrap once, open every message and the title, as the route does.
  const { rows } = await pool.query<{ id: string; role: 'user' | 'assistant'; content_ct: Buffer }>('SELECT id, role, content_ct FROM message WHERE conversation_id = $1 ORDER BY created_at, id', [restrictedId]);
  const decrypt: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const started = performance.now();
    const opened = dataKeysFor(config).unwrap(restrictedId, stored);
    for (const row of rows) opened.openMessage(row.id, row.role, row.content_ct);
    if (i >= WARMUP) decrypt.push(performance.now() - started);
  }

  const pct = (values: number[], p: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  };
  const f = (ms: number) => `${ms.toFixed(2).padStart(7)} ms`;
  const s = { p50: pct(times.standard, 50), p99: pct(times.standard, 99) };
  const r = { p50: pct(times.restricted, 50), p99: pct(times.restricted, 99) };
  console.log(`\nOpening a ${MESSAGES}-message conversation over HTTP, ${SAMPLES} times each (alternating), load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`  standard (floor)  p50 ${f(s.p50)}   p99 ${f(s.p99)}`);
  console.log(`  restricted        p50 ${f(r.p50)}   p99 ${f(r.p99)}   (${(r.p50 / s.p50).toFixed(2)}× / ${(r.p99 / s.p99).toFixed(2)}× the floor)`);
  console.log(`  added             p50 ${f(r.p50 - s.p50)}   p99 ${f(r.p99 - s.p99)}   target: < 5 ms at p50 → ${r.p50 - s.p50 < 5 ? 'met' : 'NOT met'}`);
  const cpu = { standard: cpuUs.standard / SAMPLES / 1000, restricted: cpuUs.restricted / SAMPLES / 1000 };
  console.log(`  CPU per request   standard ${f(cpu.standard)}   restricted ${f(cpu.restricted)}   added ${f(cpu.restricted - cpu.standard)} (${(cpu.restricted / cpu.standard).toFixed(2)}×)`);
  console.log(`Decryption alone (unwrap + ${MESSAGES} messages, in-process): p50 ${f(pct(decrypt, 50))}   p99 ${f(pct(decrypt, 99))}`);
} finally {
  await node.close();
  await db.drop();
}
