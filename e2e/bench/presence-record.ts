/**
 * `npm run bench:presence-record`: what recording the presence proof (issue #25) adds to an
 * unlock. Budget: < 0.5 ms at p50.
 *
 * The unlock path differs in one place only: the grant event's details grow by the accepted
 * assertion (clientDataJSON, authenticatorData, signature … as the browser sent them) and the
 * grant's terms. So the same event is appended both ways, in the same run against the same
 * real Postgres, interleaved call by call in alternating order (drift on a shared machine
 * falls on both alike), each in its own transaction as unlockModels does:
 * - before:  grant.issued with the details it had before issue #25;
 * - after:   the same, plus grantId, `assertion` and `grant`, built per call as the server does.
 * Reported: p50/p99 of each and what the proof adds at p50 and p99; then the proof's CPU cost
 * alone (building the records, cleaning, canonical JSON for the hash, JSON for the insert),
 * measured in-process without Postgres.
 *
 * Env: SAMPLES (appends per way, 3000), WARMUP (300), CPU_SAMPLES (20000).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { canonicalJsonAround } from '../../server/audit/canonicalJson.ts';
import { recordAuditEvent, type AuditInput } from '../../server/audit/record.ts';
import { migrate } from '../../server/db/migrate.ts';
import { createPool, withTransaction } from '../../server/db/pool.ts';
import type { Grant } from '../../server/grants/grants.ts';
import { assertionRecord, grantRecord } from '../../server/keys/proofRecords.ts';
import { createLogger } from '../../server/log.ts';
import { SoftAuthenticator } from '../../server/test/softAuthenticator.ts';
import { benchDatabase } from './benchSetup.ts';

const SAMPLES = Number(process.env.SAMPLES ?? 3_000);
const WARMUP = Number(process.env.WARMUP ?? 300);
const CPU_SAMPLES = Number(process.env.CPU_SAMPLES ?? 20_000);

const log = createLogger('silent');
const config = { origin: 'https://argus.example.com', rpId: 'argus.example.com' };
const context = { actor: { id: randomUUID(), username: 'bench-user' }, ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36' };

// A real ES256 assertion from the software authenticator: the sizes a security key produces.
const authenticator = new SoftAuthenticator(config.origin, config.rpId);
authenticator.register({ challenge: randomBytes(32).toString('base64url') });
const credentialId = authenticator.credentials[0]!.id;
const keyId = randomUUID();

function grantFor(now: number): Grant {
  return {
    id: randomUUID(),
    userId: context.actor.id,
    username: context.actor.username,
    sessionId: randomBytes(24).toString('base64url'),
    keyId,
    keyNickname: 'YubiKey 5 NFC',
    models: ['demo-restricted', 'research-restricted'],
    issuedAt: now,
    expiresAt: now + 300_000,
    presenceMode: 'webhid',
    device: null,
  };
}

/** The grant event's details before issue #25, exactly as unlockModels wrote them. */
function detailsBefore(grant: Grant): Record<string, unknown> {
  return {
    models: grant.models,
    keyId: grant.keyId,
    aaguid: 'cb69481e-8ff7-4039-93ec-0a2729a154a8',
    presenceMode: grant.presenceMode,
    userVerified: true,
    expiresAt: new Date(grant.expiresAt).toISOString(),
    replaces: null,
  };
}

/** And now: the same, with the proof, built as the server builds it. */
function detailsAfter(grant: Grant, response: AuthenticationResponseJSON, challenge: string): Record<string, unknown> {
  return {
    grantId: grant.id,
    ...detailsBefore(grant),
    assertion: assertionRecord({ config, response, credentialId, challenge, userId: grant.userId, requireUserVerification: false }),
    grant: grantRecord(grant),
  };
}

function nextAssertion(): { response: AuthenticationResponseJSON; challenge: string } {
  const challenge = randomBytes(32).toString('base64url');
  return { response: authenticator.assert({ challenge }) as unknown as AuthenticationResponseJSON, challenge };
}

const input = (grant: Grant, details: Record<string, unknown>): AuditInput => ({ action: 'grant.issued', outcome: 'success', target: { type: 'grant', id: grant.id }, details });

const percentile = (samples: number[], p: number) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const ms = (value: number) => `${value.toFixed(3)} ms`;

const database = await benchDatabase();
const pool = createPool(database.databaseUrl, log, 2);
try {
  await migrate(pool, log);

  // 1. The append the unlock makes, both ways, interleaved.
  const before: number[] = [];
  const after: number[] = [];
  const appendBefore = async (sample: boolean) => {
    const grant = grantFor(Date.now());
    const started = performance.now();
    await withTransaction(pool, (client) => recordAuditEvent(client, context, input(grant, detailsBefore(grant))));
    if (sample) before.push(performance.now() - started);
  };
  const appendAfter = async (sample: boolean) => {
    const grant = grantFor(Date.now());
    // The assertion is made before the clock starts: the key's signature is the browser's work, not Argus's.
    const { response, challenge } = nextAssertion();
    const started = performance.now();
    await withTransaction(pool, (client) => recordAuditEvent(client, context, input(grant, detailsAfter(grant, response, challenge))));
    if (sample) after.push(performance.now() - started);
  };
  for (let i = 0; i < WARMUP + SAMPLES; i += 1) {
    const sample = i >= WARMUP;
    if (i % 2 === 0) {
      await appendBefore(sample);
      await appendAfter(sample);
    } else {
      await appendAfter(sample);
      await appendBefore(sample);
    }
  }
  const p50 = { before: percentile(before, 50), after: percentile(after, 50) };
  const p99 = { before: percentile(before, 99), after: percentile(after, 99) };
  console.log(`grant.issued append in its transaction, ${SAMPLES} each, interleaved:`);
  console.log(`  before issue #25 (no proof): p50 ${ms(p50.before)}, p99 ${ms(p99.before)}`);
  console.log(`  with the proof recorded:     p50 ${ms(p50.after)}, p99 ${ms(p99.after)}`);
  console.log(`  added by the proof:          p50 ${ms(p50.after - p50.before)}, p99 ${ms(p99.after - p99.before)}  (budget: < 0.5 ms at p50)`);

  // 2. The proof's CPU cost alone: build, canonicalise for the hash, serialise for the insert.
  const { response, challenge } = nextAssertion();
  const grant = grantFor(Date.now());
  const event = (details: Record<string, unknown>) => ({ time: new Date().toISOString(), actorId: context.actor.id, action: 'grant.issued', details, seq: 0 });
  const cpu = (make: () => Record<string, unknown>) => {
    const samples: number[] = [];
    for (let i = 0; i < CPU_SAMPLES; i += 1) {
      const started = performance.now();
      const details = make();
      canonicalJsonAround(event(details), 'seq');
      JSON.stringify(details);
      samples.push(performance.now() - started);
    }
    return percentile(samples, 50);
  };
  cpu(() => detailsAfter(grant, response, challenge)); // warm-up
  const cpuBefore = cpu(() => detailsBefore(grant));
  const cpuAfter = cpu(() => detailsAfter(grant, response, challenge));
  const bytes = (details: Record<string, unknown>) => Buffer.byteLength(JSON.stringify(details));
  console.log(`in-process, ${CPU_SAMPLES} each: details ${bytes(detailsBefore(grant))} → ${bytes(detailsAfter(grant, response, challenge))} bytes;`);
  console.log(`  build + canonical JSON + JSON: p50 ${(cpuBefore * 1000).toFixed(1)} µs → ${(cpuAfter * 1000).toFixed(1)} µs (+${((cpuAfter - cpuBefore) * 1000).toFixed(1)} µs)`);
} finally {
  await pool.end();
  await database.drop();
}
