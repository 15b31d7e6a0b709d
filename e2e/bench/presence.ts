/**
 * `npm run bench:presence`: how fast `npm run audit:verify -- --presence` proves an export
 * (issue #25; target: at least 5,000 grants/s on one core).
 *
 * 1. Builds a JSON Lines export of GRANTS (default 100,000) grants, with its signed manifest:
 *    USERS users each register a key with the software authenticator (ES256), and every grant
 *    is a real assertion over its own fresh challenge (a pool of pre-signed assertions would
 *    reuse challenges, which the check refuses), followed by one model.access under it. The
 *    events are chained exactly as the database chains them.
 * 2. The floor, measured in the same run: node:crypto's verify over the same 100,000
 *    signatures with the keys already parsed and the signed bytes already built — what no
 *    verifier of these signatures can beat on this machine.
 * 3. The presence check alone over the file (read, parse, every check), then the whole command
 *    (`audit:verify -- <export> <manifest> --presence`: the manifest, the file's SHA-256, every
 *    event's hash and link, then the presence check), each timed on the main thread: the
 *    verification is synchronous JavaScript and crypto, so it uses one core.
 * Prints grants/s for each, the floor and the ratio. Needs no database.
 */
import { createHash, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AssertionRecord, AuditEventView, CredentialRecord } from '../../shared/audit.ts';
import { eventJson } from '../../server/audit/export/formats.ts';
import { signManifest } from '../../server/audit/manifest.ts';
import { coseToPublicKey } from '../../server/audit/presence/cose.ts';
import { exportedEvents, verifyPresence } from '../../server/audit/presence/verifyPresence.ts';
import { MemorySink, newUser, PresenceLog, type TestKey, type TestUser } from '../../server/audit/presence/testing/presenceLog.ts';
import { AuditSigner } from '../../server/audit/signingKey.ts';
import { main as auditVerify } from '../../server/audit/verifyExportCli.ts';

const GRANTS = Number(process.env.GRANTS ?? 100_000);
const USERS = Number(process.env.USERS ?? 100);
const TARGET_GRANTS_PER_SECOND = 5_000;

const rate = (count: number, ms: number) => Math.round((count / ms) * 1000);
const fmt = (n: number) => n.toLocaleString('en');
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

interface FloorSample {
  key: KeyObject;
  signed: Buffer;
  signature: Buffer;
}

/** Writes the export and its manifest; keeps each grant's signature for the floor. */
async function buildExport(dir: string, signer: AuditSigner): Promise<{ exportPath: string; manifestPath: string; samples: FloorSample[]; events: number }> {
  const exportPath = path.join(dir, 'export.jsonl');
  const fd = openSync(exportPath, 'w');
  const sha256 = createHash('sha256');
  let pending: string[] = [];
  let first: AuditEventView | null = null;
  let last: AuditEventView | null = null;
  let events = 0;
  const flush = () => {
    const chunk = Buffer.from(pending.join(''), 'utf8');
    sha256.update(chunk);
    writeSync(fd, chunk);
    pending = [];
  };
  const sink = new MemorySink((event) => {
    first ??= event;
    last = event;
    events += 1;
    pending.push(`${eventJson(event)}\n`);
    if (pending.length >= 2_000) flush();
  });
  const log = new PresenceLog(sink);
  const append = (user: TestUser, input: Parameters<MemorySink['appendNow']>[1]) =>
    sink.appendNow({ actor: { id: user.id, username: user.username }, ip: '192.0.2.10', userAgent: 'bench' }, input);

  const people: Array<{ user: TestUser; key: TestKey; publicKey: KeyObject }> = [];
  for (let i = 0; i < USERS; i += 1) {
    const user = newUser(`user${i}`);
    const { key } = await log.registerKey(user);
    const record: CredentialRecord = log.credentialRecord(user, key);
    const cose = coseToPublicKey(Buffer.from(record.publicKey, 'base64url'), record.alg);
    if (!cose.ok) throw new Error(`bench key unreadable: ${cose.reason}`);
    people.push({ user, key, publicKey: cose.publicKey.key });
  }

  const samples: FloorSample[] = [];
  for (let i = 0; i < GRANTS; i += 1) {
    const { user, key, publicKey } = people[i % people.length]!;
    sink.now += 20;
    const { input, grant } = log.grantInput(user, key, { models: ['restricted-demo'], lifetimeMs: 300_000 });
    append(user, input);
    const assertion = (input.details as { assertion: AssertionRecord }).assertion;
    const authenticatorData = Buffer.from(assertion.authenticatorData, 'base64url');
    const clientDataHash = createHash('sha256').update(Buffer.from(assertion.clientDataJSON, 'base64url')).digest();
    samples.push({ key: publicKey, signed: Buffer.concat([authenticatorData, clientDataHash]), signature: Buffer.from(assertion.signature, 'base64url') });
    sink.now += 5;
    append(user, { action: 'model.access', outcome: 'success', model: 'restricted-demo', target: { type: 'grant', id: grant.id }, details: { grantId: grant.id } });
  }
  flush();
  closeSync(fd);

  const firstEvent = first as AuditEventView | null;
  const lastEvent = last as AuditEventView | null;
  const manifest = signManifest(signer, {
    type: 'argus.audit.export-manifest',
    version: 1,
    exportId: '00000000-0000-4000-8000-0000000be4c5',
    format: 'jsonl',
    filter: { fromSeq: 1, toSeq: lastEvent?.seq ?? null },
    contiguous: true,
    eventCount: events,
    firstSeq: firstEvent?.seq ?? null,
    lastSeq: lastEvent?.seq ?? null,
    prevHash: firstEvent?.prevHash ?? null,
    lastHash: lastEvent?.hash ?? null,
    fileSha256: sha256.digest('hex'),
    fileBytes: statSync(exportPath).size,
    exportedAt: new Date().toISOString(),
    exporter: { id: '00000000-0000-4000-8000-000000000001', username: 'bench' },
    checkpoint: null,
    presence: { grants: GRANTS, proven: GRANTS },
  });
  const manifestPath = path.join(dir, 'manifest.json');
  writeFileSync(manifestPath, JSON.stringify(manifest));
  return { exportPath, manifestPath, samples, events };
}

function floor(samples: FloorSample[]): number {
  const started = performance.now();
  for (const { key, signed, signature } of samples) {
    if (!verify('sha256', signed, { key, dsaEncoding: 'der' }, signature)) throw new Error('floor: a bench signature does not verify');
  }
  return performance.now() - started;
}

async function quietly<T>(run: () => Promise<T>): Promise<{ value: T; printed: string[] }> {
  const printed: string[] = [];
  const { log, error } = console;
  console.log = (text: string) => void printed.push(text);
  console.error = (text: string) => void printed.push(text);
  try {
    return { value: await run(), printed };
  } finally {
    console.log = log;
    console.error = error;
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'argus-bench-presence-'));
  try {
    const signer = new AuditSigner(generateKeyPairSync('ed25519').privateKey);
    const keyFile = path.join(dir, 'audit-signing-key.pub.pem');
    writeFileSync(keyFile, signer.publicKeyPem);

    let started = performance.now();
    const { exportPath, manifestPath, samples, events } = await buildExport(dir, signer);
    console.log(
      `built: ${fmt(GRANTS)} grants with real ES256 signatures (each over its own challenge), ${fmt(GRANTS)} uses, ${fmt(USERS)} keys: ` +
        `${fmt(events)} events, ${mib(statSync(exportPath).size)}, in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    // Warm-up (JIT, the keys' first use), then the floor.
    floor(samples.slice(0, 2_000));
    const floorMs = floor(samples);
    const floorRate = rate(samples.length, floorMs);
    console.log(`floor: crypto.verify of the same ${fmt(samples.length)} signatures, keys parsed and signed bytes built beforehand: ${fmt(floorRate)} signatures/s`);

    started = performance.now();
    const report = await verifyPresence(exportedEvents(exportPath));
    const presenceMs = performance.now() - started;
    if (!report.ok || report.grants.proven !== GRANTS || report.uses.proven !== GRANTS) {
      throw new Error(`the bench export did not verify: ${JSON.stringify({ grants: report.grants, uses: report.uses, problems: report.problems.slice(0, 5) })}`);
    }
    const presenceRate = rate(GRANTS, presenceMs);
    console.log(
      `presence check alone (read, parse, every check): ${fmt(GRANTS)} grants and ${fmt(GRANTS)} uses proven in ${(presenceMs / 1000).toFixed(2)} s = ` +
        `${fmt(presenceRate)} grants/s (${(presenceRate / floorRate).toFixed(2)} × the floor)`,
    );

    started = performance.now();
    const { value: code, printed } = await quietly(() => auditVerify([exportPath, manifestPath, '--key', keyFile, '--presence']));
    const commandMs = performance.now() - started;
    if (code !== 0) throw new Error(`audit:verify --presence failed on the bench export:\n${printed.join('\n')}`);
    const commandRate = rate(GRANTS, commandMs);
    console.log(
      `audit:verify --presence (manifest, file SHA-256, ${fmt(events)} event hashes and links, then the presence check): ${(commandMs / 1000).toFixed(2)} s = ` +
        `${fmt(commandRate)} grants/s (${(commandRate / floorRate).toFixed(2)} × the floor)`,
    );
    console.log(`memory: RSS ${mib(process.memoryUsage().rss)} after the runs`);
    const verdict = commandRate >= TARGET_GRANTS_PER_SECOND ? 'PASS' : 'MISS';
    console.log(`${verdict}: target ≥ ${fmt(TARGET_GRANTS_PER_SECOND)} grants/s on one core for the whole command; measured ${fmt(commandRate)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
