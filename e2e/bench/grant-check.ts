/**
 * `npm run bench:grant-check`: what the grant record's MAC (threat-model G4) adds to the grant
 * check every restricted request makes. Budget: < 0.2 ms added at p50.
 *
 * Three ways to answer "may this session use this model?", against the same real Redis, in the
 * same run, interleaved call by call in a rotating order (so drift on a shared machine falls
 * on all three alike):
 * - floor:        a bare Redis GET of the session's grant record (nothing can be cheaper);
 * - without MAC:  the check as it was before records had a MAC (GET, JSON.parse, expiry, user, model);
 * - with MAC:     GrantService.check as it is (GET, JSON.parse, HMAC-SHA-256 over the record's
 *                 canonical JSON under the node's key, timingSafeEqual, the same checks).
 * Reported: p50/p99 of each, each ÷ the floor, and what the MAC adds at p50 and p99; then the
 * MAC's own CPU cost per check measured in-process, without Redis.
 *
 * Env: SAMPLES (calls per way, 20000), WARMUP (2000).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ForgedRecordAlarm } from '../../server/crypto/forgedRecordAlarm.ts';
import { RecordMac } from '../../server/crypto/recordMac.ts';
import { createPool } from '../../server/db/pool.ts';
import { GrantService, type Grant } from '../../server/grants/grants.ts';
import { createLogger } from '../../server/log.ts';
import { AuditOutbox } from '../../server/outbox/auditOutbox.ts';
import type { EventBus } from '../../server/realtime/bus.ts';
import { connectRedis } from '../../server/redis.ts';
import { clearRedisPrefix, TEST_REDIS_URL } from '../../server/test/env.ts';

const SAMPLES = Number(process.env.SAMPLES ?? 20_000);
const WARMUP = Number(process.env.WARMUP ?? 2_000);

const log = createLogger('silent');
const prefix = `argus-bench:${randomBytes(4).toString('hex')}:`;
const redis = await connectRedis(TEST_REDIS_URL, prefix, log);
// Never queried: a genuine grant raises no alarm and ends no grant here.
const pool = createPool('postgres://postgres@127.0.0.1:1/unused', log);
const integrity = { mac: new RecordMac([{ id: 'bench', secret: randomBytes(32) }]), forgedRecords: new ForgedRecordAlarm(pool, log) };
const bus = { notify: () => undefined } as unknown as EventBus;
const grants = new GrantService(redis, new AuditOutbox(redis, pool, log, integrity), bus, log, 30, integrity);

const now = Date.now();
const grant: Grant = {
  id: randomUUID(),
  userId: randomUUID(),
  username: 'bench-user',
  sessionId: randomBytes(24).toString('base64url'),
  keyId: randomUUID(),
  keyNickname: 'YubiKey 5 NFC',
  models: ['demo-restricted', 'research-restricted'],
  issuedAt: now,
  expiresAt: now + 3_600_000,
  presenceMode: 'webhid',
  device: { vendorId: 0x1050, productId: 0x0407, productName: 'YubiKey OTP+FIDO+CCID' },
};
await grants.issue(grant);
// The record as it was stored before it had a MAC, for the check as it was.
await redis.set(`legacy-sgrant:${grant.sessionId}`, JSON.stringify(grant), 'PX', 3_600_000);

/** The grant check before this change (server/grants/grants.ts before G4), unchanged. */
async function checkWithoutMac(sessionId: string, userId: string, modelId: string): Promise<boolean> {
  const json = await redis.get(`legacy-sgrant:${sessionId}`);
  if (!json) return false;
  const stored = JSON.parse(json) as Grant;
  if (stored.expiresAt <= Date.now()) return false;
  return stored.userId === userId && stored.models.includes(modelId);
}

const ways: Array<[string, () => Promise<unknown>]> = [
  ['floor: bare Redis GET', () => redis.get(`sgrant:${grant.sessionId}`)],
  [
    'grant check without MAC',
    async () => {
      if (!(await checkWithoutMac(grant.sessionId, grant.userId, 'demo-restricted'))) throw new Error('legacy check refused');
    },
  ],
  [
    'grant check with MAC',
    async () => {
      if (!(await grants.check(grant.sessionId, grant.userId, 'demo-restricted')).allowed) throw new Error('grant check refused');
    },
  ],
];

const samples: number[][] = ways.map(() => []);
for (let i = 0; i < WARMUP + SAMPLES; i += 1) {
  for (let j = 0; j < ways.length; j += 1) {
    const index = (i + j) % ways.length;
    const started = performance.now();
    await ways[index]![1]();
    if (i >= WARMUP) samples[index]!.push(performance.now() - started);
  }
}

const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const sorted = samples.map((s) => [...s].sort((a, b) => a - b));
const floor = { p50: at(sorted[0]!, 0.5), p99: at(sorted[0]!, 0.99) };
console.log(`\nGrant check, ${SAMPLES.toLocaleString('en')} sequential calls each, interleaved (one Redis on loopback):`);
ways.forEach(([label], index) => {
  const p50 = at(sorted[index]!, 0.5);
  const p99 = at(sorted[index]!, 0.99);
  console.log(`  ${label.padEnd(26)} p50 ${p50.toFixed(3)} ms  p99 ${p99.toFixed(3)} ms   ×floor p50 ${(p50 / floor.p50).toFixed(2)}  p99 ${(p99 / floor.p99).toFixed(2)}`);
});
const addedP50 = at(sorted[2]!, 0.5) - at(sorted[1]!, 0.5);
const addedP99 = at(sorted[2]!, 0.99) - at(sorted[1]!, 0.99);
console.log(`  added by the MAC: p50 ${addedP50.toFixed(3)} ms, p99 ${addedP99.toFixed(3)} ms (budget: < 0.2 ms at p50: ${addedP50 < 0.2 ? 'met' : 'NOT MET'})`);

// The MAC's own cost, without Redis: verifying the stored record as the check does, in batches.
const stored = (await redis.get(`sgrant:${grant.sessionId}`))!;
const legacy = JSON.stringify(grant);
const perCall = (work: () => void, calls = 50_000): number => {
  const times: number[] = [];
  for (let i = 0; i < calls; i += 1) {
    const started = performance.now();
    work();
    times.push((performance.now() - started) * 1000);
  }
  return at(times.sort((x, y) => x - y), 0.5);
};
const parseOnly = perCall(() => (JSON.parse(legacy) as Grant).models.includes('demo-restricted'));
const parseAndVerify = perCall(() => {
  const { mac, ...fields } = JSON.parse(stored) as Record<string, unknown>;
  if (!integrity.mac.verify('grant', fields, mac).valid) throw new Error('MAC refused');
});
console.log(`In-process, p50 of 50,000 calls: parse ${parseOnly.toFixed(2)} µs; parse + MAC verify ${parseAndVerify.toFixed(2)} µs (record ${stored.length} bytes)`);

redis.disconnect();
await pool.end();
await clearRedisPrefix(prefix);
