import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AUDIT_ACTIONS, AUDIT_COUNT_LIMIT, type AuditEventView, type AuditListResponse, type AuditSigningKeyView, type ResolvedAuditEvent } from '../../shared/audit.ts';
import { canonicalJson } from '../audit/canonicalJson.ts';
import { checkpointChainHead } from '../audit/checkpointTimer.ts';
import { OCSF_CLASSES } from '../audit/export/ocsf.ts';
import { manifestPayload } from '../audit/manifest.ts';
import { recordAuditEvent } from '../audit/record.ts';
import { downloadExport } from '../audit/testing/auditTestKit.ts';
import { seedChain } from '../audit/testing/seedChain.ts';
import { MAX_CONCURRENT_EXPORTS } from '../audit/export/exportAuditEvents.ts';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { main as verifyCli } from '../audit/verifyExportCli.ts';
import { withTransaction } from '../db/pool.ts';
import { enrollUser, errorCode, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';
import { TestSocket } from '../test/wsClient.ts';

let node: TestNode;
let auditor: TestClient;
let otherAuditor: TestClient;
let admin: TestClient;
let adminId: string;

const USER_ID = '6f1c1c52-2a5b-4e4f-9a53-2f5d0b8b1e11';

beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
  auditor = (await enrollUser(node, { username: 'audrey', role: 'auditor' })).client;
  otherAuditor = (await enrollUser(node, { username: 'oscar', role: 'auditor' })).client;
  const enrolled = await enrollUser(node, { username: 'adele', role: 'admin' });
  admin = enrolled.client;
  adminId = enrolled.userId;
  // A varied set of events to search and export, including text that needs escaping.
  const record = (input: Parameters<typeof recordAuditEvent>[2], actor = { id: adminId, username: 'adele' }, ip = '192.0.2.7') =>
    withTransaction(node.deps.pool, (client) => recordAuditEvent(client, { actor, ip, userAgent: '=HYPERLINK("x"), "quoted"|pipe\\slash' }, input));
  await record({ action: 'user.disabled', outcome: 'success', target: { type: 'user', id: USER_ID }, details: { reason: 'left, the "company"\nnew line' } });
  await record({ action: 'grant.issued', outcome: 'success', model: 'restricted-demo', target: { type: 'grant', id: 'g-1' } });
  await record({ action: 'key.suspended', outcome: 'success', target: { type: 'key', id: 'k-1' } });
  await record({ action: 'auth.signin_failed', outcome: 'failure', details: { username: 'a=b|c' } }, null as never, '2001:db8::1');
});
afterAll(() => node.destroy());

const list = async (query: string) => (await auditor.get<AuditListResponse>(`/api/audit/events${query}`)).body;

describe('search', () => {
  it('filters by action, actor (name or id), target, outcome, severity and model', async () => {
    expect((await list('?action=user.disabled')).events.map((e) => e.action)).toEqual(['user.disabled']);
    expect((await list('?actor=ADELE')).events.every((e) => e.actorUsername === 'adele')).toBe(true);
    expect((await list(`?actor=${adminId}`)).events.length).toBeGreaterThanOrEqual(3);
    expect((await list(`?target=${USER_ID}`)).events.map((e) => e.action)).toEqual(['user.disabled']);
    expect((await list('?outcome=failure')).events.map((e) => e.action)).toContain('auth.signin_failed');
    expect((await list('?severity=critical')).events.map((e) => e.action)).toEqual(['key.suspended']);
    expect((await list('?model=restricted-demo')).events.map((e) => e.action)).toEqual(['grant.issued']);
    expect((await list('?action=grant.issued&outcome=failure')).events).toEqual([]);
  });

  it('filters by time range', async () => {
    const all = (await list('?limit=500')).events;
    const middle = all[Math.floor(all.length / 2)]!;
    const from = (await list(`?from=${encodeURIComponent(middle.time)}&limit=500`)).events;
    expect(from.every((e) => e.time >= middle.time)).toBe(true);
    const to = (await list(`?to=${encodeURIComponent(middle.time)}&limit=500`)).events;
    expect(to.every((e) => e.time < middle.time)).toBe(true);
    expect(from.length + to.length).toBe(all.length);
  });

  it('pages newest first by keyset cursor, without repeats or gaps', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: AuditListResponse = await list(`?limit=3${cursor ? `&after=${cursor}` : ''}`);
      seen.push(...page.events.map((e) => e.seq));
      cursor = page.nextCursor;
    } while (cursor);
    const all = (await list('?limit=500')).events.map((e) => e.seq);
    expect(seen).toEqual(all);
    expect([...all].sort((a, b) => b - a)).toEqual(all);
  });

  it('opens one event with every field, and answers bad input with stable codes', async () => {
    const [latest] = (await list('?limit=1')).events;
    const one = await auditor.get<{ event: AuditEventView }>(`/api/audit/events/${latest!.seq}`);
    expect(one.body.event).toEqual(latest);
    expect(errorCode(await auditor.get('/api/audit/events/999999'))).toBe('NOT_FOUND');
    expect(errorCode(await auditor.get('/api/audit/events/abc'))).toBe('VALIDATION_FAILED');
    expect(errorCode(await auditor.get('/api/audit/events?severity=apocalyptic'))).toBe('VALIDATION_FAILED');
    expect(errorCode(await auditor.get('/api/audit/events?from=yesterday'))).toBe('VALIDATION_FAILED');
    expect(errorCode(await auditor.get('/api/audit/events?sql=1'))).toBe('VALIDATION_FAILED');
  });
});

describe('target names', () => {
  const DELETED_USER_ID = '0b7e4a32-9a51-4c8e-8f0e-3c1c2f1d9a77';
  let userEvent: number;
  let keyEvent: number;
  let modelEvent: number;
  let deletedEvent: number;
  let grantEvent: number;
  let oddIdEvent: number;

  beforeAll(async () => {
    const alice = await enrollUser(node, { username: 'alice-names' });
    const record = (input: Parameters<typeof recordAuditEvent>[2]) =>
      withTransaction(node.deps.pool, (client) => recordAuditEvent(client, { actor: { id: adminId, username: 'adele' }, ip: null, userAgent: null }, input));
    userEvent = (await record({ action: 'user.role_changed', outcome: 'success', target: { type: 'user', id: alice.userId } })).seq;
    keyEvent = (await record({ action: 'key.deactivated', outcome: 'success', target: { type: 'security_key', id: alice.keyId } })).seq;
    modelEvent = (await record({ action: 'model.disabled', outcome: 'success', target: { type: 'model', id: 'demo-restricted' } })).seq;
    // A user deleted since: only the event remembers the name.
    deletedEvent = (await record({ action: 'user.deleted', outcome: 'success', target: { type: 'user', id: DELETED_USER_ID }, details: { username: 'gone-gus' } })).seq;
    grantEvent = (await record({ action: 'grant.revoked', outcome: 'success', target: { type: 'grant', id: 'g-names' } })).seq;
    // Not a uuid: nothing to look up, and no cast error.
    oddIdEvent = (await record({ action: 'user.enabled', outcome: 'success', target: { type: 'user', id: 'not-a-uuid' } })).seq;
  });

  const bySeq = (events: ResolvedAuditEvent[], seq: number) => events.find((e) => e.seq === seq)!;

  it('names each target by its username, key nickname or model name, in search and get', async () => {
    const { events } = await list('?limit=20');
    expect(bySeq(events, userEvent).targetName).toBe('alice-names');
    expect(bySeq(events, keyEvent).targetName).toBe("alice-names's key");
    expect(bySeq(events, modelEvent).targetName).toBe('Demo Restricted');
    for (const seq of [userEvent, keyEvent, modelEvent]) {
      expect((await auditor.get<{ event: ResolvedAuditEvent }>(`/api/audit/events/${seq}`)).body.event).toEqual(bySeq(events, seq));
    }
  });

  it('falls back to the name the event recorded for a deleted target, else null', async () => {
    const { events } = await list('?limit=20');
    expect(bySeq(events, deletedEvent)).toMatchObject({ targetId: DELETED_USER_ID, targetName: 'gone-gus' });
    expect(bySeq(events, grantEvent).targetName).toBeNull();
    expect(bySeq(events, oddIdEvent).targetName).toBeNull();
  });

  it('keeps names out of the hashed record and of every export', async () => {
    const { events } = await list('?limit=20');
    const named = bySeq(events, userEvent);
    // The stored hash is the hash of the event without its name.
    const { targetName: _name, ...stored } = named;
    const [fromChain] = await (await import('../db/audit.ts')).listAuditEventsAscending(node.deps.pool, named.seq - 1, 1);
    expect(fromChain).toEqual(stored);
    for (const format of ['jsonl', 'csv', 'cef', 'ocsf'] as const) {
      // As the admin: the auditor's exports in this file come close to the route's budget of 20 a minute.
      const exported = await downloadExport(admin, format, { target: named.targetId! });
      expect(exported.manifest.eventCount, format).toBeGreaterThan(0);
      expect(exported.body.toString('utf8'), format).not.toMatch(/targetName|target_name/);
    }
  });
});

describe('result count', () => {
  it('counts what the search matches on its first page only', async () => {
    const first = await list('?severity=critical&limit=1');
    const all = (await list('?severity=critical&limit=500')).events;
    expect(first.total).toEqual({ count: all.length, more: false });
    expect((await list(`?severity=critical&limit=1&after=${first.events[0]!.seq}`)).total).toBeNull();
    expect((await list('?actor=nobody-at-all')).total).toEqual({ count: 0, more: false });
  });
});

describe('signing key', () => {
  it('is public at a stable URL, as JSON and as PEM, with its SHA-256 fingerprint', async () => {
    const json = await node.client().get<AuditSigningKeyView>('/api/audit/signing-key');
    expect(json.status).toBe(200);
    expect(json.body).toEqual({ algorithm: 'Ed25519', publicKeyPem: node.deps.auditSigner.publicKeyPem, fingerprint: node.deps.auditSigner.fingerprint });
    expect(json.body.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const pem = await fetch(`${node.url}/api/audit/signing-key.pem`);
    expect(await pem.text()).toBe(node.deps.auditSigner.publicKeyPem);
  });
});

describe('exports', () => {
  it('JSON Lines: every event, line by line, each with every hashed field', async () => {
    const exported = await downloadExport(auditor, 'jsonl');
    const lines = exported.body.toString('utf8').split('\n').filter(Boolean);
    const events = lines.map((line) => JSON.parse(line) as AuditEventView);
    expect(events.length).toBe(exported.manifest.eventCount);
    expect(events.length).toBe(exported.expectedEvents);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(Object.keys(events[0]!).sort()).toEqual(
      ['action', 'actorId', 'actorUsername', 'details', 'hash', 'ip', 'model', 'outcome', 'prevHash', 'seq', 'severity', 'targetId', 'targetType', 'time', 'userAgent'],
    );
    expect(exported.manifest).toMatchObject({ format: 'jsonl', contiguous: true, firstSeq: 1, lastSeq: events.length, lastHash: events.at(-1)!.hash });
  });

  it('CSV: RFC 4180, parsed back with a real CSV parser, formula-looking text defused', async () => {
    const exported = await downloadExport(auditor, 'csv', { action: 'user.disabled' });
    const text = exported.body.toString('utf8');
    expect(text).toMatch(/\r\n$/);
    const rows = parseCsv(text, { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({ action: 'user.disabled', target_id: USER_ID, outcome: 'success', actor_username: 'adele', ip: '192.0.2.7' });
    expect(JSON.parse(row.details!)).toEqual({ reason: 'left, the "company"\nnew line' });
    expect(row.user_agent).toBe('\'=HYPERLINK("x"), "quoted"|pipe\\slash');
    expect(exported.manifest).toMatchObject({ format: 'csv', contiguous: false, eventCount: 1 });
  });

  it('CEF: header fields and escaped extensions', async () => {
    const exported = await downloadExport(auditor, 'cef', { severity: 'critical' });
    const [line, ...rest] = exported.body.toString('utf8').split('\n').filter(Boolean);
    expect(rest).toEqual([]);
    // Split the header on unescaped pipes: version, vendor, product, version, signature id, name, severity, extension.
    // Pipes need no escape in the extension, so only the first seven unescaped ones delimit.
    const parts = line!.split(/(?<!\\)\|/);
    const fields = [...parts.slice(0, 7), parts.slice(7).join('|')];
    // The class id is the action; the name says it in words.
    expect(fields.slice(0, 7)).toEqual(['CEF:0', 'Argus', 'Argus', '0.1.0', 'key.suspended', 'Clone detected: key suspended', '10']);
    const extension = parseCefExtension(fields[7]!);
    expect(extension).toMatchObject({ act: 'key.suspended', suser: 'adele', src: '192.0.2.7', cs1: 'key', cs2: 'k-1', cs6Label: 'hash' });
    expect(extension.requestClientApplication).toBe('=HYPERLINK("x"), "quoted"|pipe\\slash');
    const failed = (await downloadExport(auditor, 'cef', { action: 'auth.signin_failed', outcome: 'failure' })).body.toString('utf8');
    // IPv6 goes in c6a2, and '=' in a value is escaped.
    expect(failed).toContain('c6a2=2001:db8::1');
    expect(failed).toContain('a\\=b|c');
  });

  it('OCSF: each event carries the required attributes of its class', async () => {
    const exported = await downloadExport(auditor, 'ocsf');
    const events = exported.body.toString('utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>);
    expect(events.length).toBe(exported.manifest.eventCount);
    for (const event of events) {
      for (const attribute of ['activity_id', 'category_uid', 'class_uid', 'type_uid', 'severity_id', 'time', 'metadata']) expect(event[attribute], attribute).toBeDefined();
      expect(event.type_uid).toBe(event.class_uid * 100 + event.activity_id);
      expect(event.metadata.product.name).toBe('Argus');
      expect(event.metadata.version).toMatch(/^1\.\d+\.\d+$/);
      if (event.class_uid === 3002 || event.class_uid === 3001) expect(event.user).toBeDefined();
      if (event.class_uid === 6003) {
        expect(event.actor).toBeDefined();
        expect(event.api.operation).toBeTypeOf('string');
        expect(event.src_endpoint).toBeDefined();
      }
    }
    const byAction = (action: string) => events.find((e) => e.unmapped.argus.action === action)!;
    expect(byAction('auth.signin')).toMatchObject({ class_uid: OCSF_CLASSES.authentication.class_uid, activity_id: 1, status_id: 1 });
    expect(byAction('auth.signin_failed')).toMatchObject({ class_uid: 3002, status_id: 2 });
    expect(byAction('user.disabled')).toMatchObject({ class_uid: 3001, activity_id: 5, user: { uid: USER_ID } });
    expect(byAction('key.suspended')).toMatchObject({ class_uid: 3001, severity_id: 5 });
    expect(byAction('grant.issued')).toMatchObject({ class_uid: 6003, category_uid: 6, activity_id: 1 });
  });

  it('is itself an audit event: who, what filter, what format', async () => {
    const exported = await downloadExport(otherAuditor, 'csv', { outcome: 'failure' });
    const events = (await list(`?action=audit.export&target=${exported.exportId}`)).events;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actorUsername: 'oscar',
      severity: AUDIT_ACTIONS['audit.export'],
      targetType: 'audit_export',
      details: { format: 'csv', filter: { outcome: 'failure' } },
    });
    // The export is a snapshot: it does not contain its own audit.export event.
    expect(exported.manifest.lastSeq).toBeLessThan(events[0]!.seq);
  });

  it('gives the manifest only to the person who exported', async () => {
    const exported = await downloadExport(auditor, 'jsonl');
    const theirs = await otherAuditor.get(`/api/audit/exports/${exported.exportId}/manifest`);
    expect(theirs.status).toBe(404);
    expect(errorCode(await auditor.get('/api/audit/exports/not-a-uuid/manifest'))).toBe('VALIDATION_FAILED');
  });

  it('refuses bad formats and filters with a stable code', async () => {
    expect(errorCode(await auditor.post('/api/audit/exports', { format: 'xml', filter: {} }))).toBe('VALIDATION_FAILED');
    expect(errorCode(await auditor.post('/api/audit/exports', { format: 'csv', filter: { where: '1=1' } }))).toBe('VALIDATION_FAILED');
  });

  it('includes the latest checkpoint inside the range in the manifest', async () => {
    const checkpoint = await checkpointChainHead({ pool: node.deps.pool, signer: node.deps.auditSigner });
    const exported = await downloadExport(auditor, 'jsonl');
    expect(exported.manifest.checkpoint).toEqual(checkpoint);
  });
});

describe('export limits', () => {
  it(`runs at most ${MAX_CONCURRENT_EXPORTS} exports at once per node, answering 503 SERVER_BUSY beyond`, async () => {
    // Enough events that an export stalls on a client that does not read.
    await seedChain(node.ownerPool(), 30_000);
    const stalled = await Promise.all(Array.from({ length: MAX_CONCURRENT_EXPORTS }, () => openExportWithoutReading(auditor)));
    const refused = await auditor.post('/api/audit/exports', { format: 'jsonl', filter: {} });
    expect(refused.status).toBe(503);
    expect(errorCode(refused)).toBe('SERVER_BUSY');
    for (const request of stalled) request.destroy();
    // Slots come back when the clients go away.
    await expect.poll(async () => (await downloadExport(auditor, 'csv', { severity: 'critical' })).manifest.eventCount).toBe(1);
  });
});

describe('result count over a large log', () => {
  it(`stops counting at ${AUDIT_COUNT_LIMIT.toLocaleString('en')} and says there are more`, async () => {
    // The export-limits test above seeded 30,000 events.
    expect((await list('?limit=1')).total).toEqual({ count: AUDIT_COUNT_LIMIT, more: true });
  });
});

describe('export file names', () => {
  const exportName = async (filter: Record<string, string>) => {
    const response = await fetch(`${otherAuditor.baseUrl}/api/audit/exports`, {
      method: 'POST',
      headers: { origin: otherAuditor.origin, 'content-type': 'application/json', cookie: otherAuditor.cookie ?? '' },
      body: JSON.stringify({ format: 'jsonl', filter }),
    });
    await response.arrayBuffer();
    const exportId = response.headers.get('x-argus-export-id')!;
    const manifest = await fetch(`${otherAuditor.baseUrl}/api/audit/exports/${exportId}/manifest`, { headers: { cookie: otherAuditor.cookie ?? '' } });
    return { file: response.headers.get('content-disposition'), manifest: manifest.headers.get('content-disposition') };
  };

  it('name the dates an export covers, not its id', async () => {
    // `to` is exclusive: an end at midnight is the day before.
    expect(await exportName({ from: '2026-12-01T00:00:00.000Z', to: '2026-12-07T00:00:00.000Z' })).toEqual({
      file: 'attachment; filename="argus-audit-2026-12-01_to_2026-12-06.jsonl"',
      manifest: 'attachment; filename="argus-audit-2026-12-01_to_2026-12-06.jsonl.manifest.json"',
    });
    const today = new Date().toISOString().slice(0, 10);
    expect((await exportName({})).file).toBe(`attachment; filename="argus-audit-all-to-${today}.jsonl"`);
  });
});

describe('live feed', () => {
  it('tells auditors on every node about an export as it happens', async () => {
    const other = await startTestNode({}, { databaseUrl: node.databaseUrl, redisPrefix: node.redisPrefix });
    try {
      // Sessions live in the shared Redis, so the auditor's cookie works on the other node too.
      const socket = await TestSocket.open(other.url, { origin: 'http://argus.test', cookie: auditor.cookie });
      const exported = await downloadExport(otherAuditor, 'cef');
      await expect
        .poll(() => socket.events.some((e) => e.type === 'SECURITY_EVENT' && e.event.action === 'audit.export' && e.event.targetId === exported.exportId))
        .toBe(true);
      socket.close();
    } finally {
      await other.close();
    }
  });
});

describe('offline verification', () => {
  it('npm run audit:verify accepts a genuine export and names the first broken link of an edited one', async () => {
    const exported = await downloadExport(admin, 'jsonl');
    const keyPath = path.join(exported.files.dir, 'pub.pem');
    writeFileSync(keyPath, node.deps.auditSigner.publicKeyPem);
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await verifyCli([exported.files.exportPath, exported.files.manifestPath, '--key', keyPath])).toBe(0);
      const lines = readFileSync(exported.files.exportPath, 'utf8').split('\n');
      lines[1] = lines[1]!.replace('"action":"', '"action":"x');
      writeFileSync(exported.files.exportPath, lines.join('\n'));
      expect(await verifyCli([exported.files.exportPath, exported.files.manifestPath, '--key', keyPath])).toBe(1);
      // The event as found on that line (its action edited), and the one line before it.
      expect(error.mock.calls.flat().join('\n')).toMatch(/First broken link: line 2, event #2 x[a-z._]+: hash mismatch; 1 event verified before it\./);
      expect(await verifyCli([exported.files.exportPath])).toBe(2);
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  });

  it('CSV, CEF and OCSF manifests sign the file SHA-256', async () => {
    for (const format of ['csv', 'cef', 'ocsf'] as const) {
      const exported = await downloadExport(auditor, format);
      const { verifyExport } = await import('../audit/verifyExport.ts');
      const publicKey = node.deps.auditSigner.publicKey;
      const manifestJson = readFileSync(exported.files.manifestPath, 'utf8');
      expect(await verifyExport({ exportPath: exported.files.exportPath, manifestJson, publicKey })).toMatchObject({ ok: true, chainChecked: false });
      writeFileSync(exported.files.exportPath, Buffer.concat([exported.body, Buffer.from(' ')]));
      expect((await verifyExport({ exportPath: exported.files.exportPath, manifestJson, publicKey })).problems).toEqual([expect.objectContaining({ kind: 'file_changed' })]);
    }
  });

  const hasOpenssl = (() => {
    try {
      execFileSync('openssl', ['version']);
      return true;
    } catch {
      return false;
    }
  })();

  it.runIf(hasOpenssl)('stock openssl verifies a manifest signature exactly as docs/audit-chain.md says', async () => {
    const exported = await downloadExport(auditor, 'jsonl');
    const dir = exported.files.dir;
    writeFileSync(path.join(dir, 'pub.pem'), (await node.client().get<AuditSigningKeyView>('/api/audit/signing-key')).body.publicKeyPem);
    // The documented extraction: canonical JSON of the manifest without `signature`, and the decoded signature.
    const manifest = JSON.parse(readFileSync(exported.files.manifestPath, 'utf8'));
    writeFileSync(path.join(dir, 'manifest-payload'), manifestPayload(manifest));
    writeFileSync(path.join(dir, 'sig'), Buffer.from(manifest.signature, 'base64'));
    const openssl = (payload: string) =>
      execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'pub.pem', '-rawin', '-in', payload, '-sigfile', 'sig'], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    expect(openssl('manifest-payload')).toMatch(/Signature Verified Successfully/);
    // The documented python3 one-liner produces the same payload bytes.
    execFileSync('python3', ['-c', PYTHON_EXTRACT, exported.files.manifestPath], { cwd: dir });
    expect(readFileSync(path.join(dir, 'manifest-payload.py'), 'utf8')).toBe(manifestPayload(manifest));
    // A changed payload fails.
    writeFileSync(path.join(dir, 'tampered'), manifestPayload({ ...manifest, eventCount: manifest.eventCount + 1 }));
    expect(() => openssl('tampered')).toThrow();
    expect(createPublicKey(readFileSync(path.join(dir, 'pub.pem'))).asymmetricKeyType).toBe('ed25519');
    expect(canonicalJson(JSON.parse(manifestPayload(manifest)))).toBe(manifestPayload(manifest));
  });
});

/** Keep in step with docs/audit-chain.md ("Checking a manifest with stock tools"). */
const PYTHON_EXTRACT = `import base64, json, sys
m = json.load(open(sys.argv[1], encoding="utf-8"))
sig = m.pop("signature")
open("manifest-payload.py", "wb").write(json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
open("sig.py", "wb").write(base64.b64decode(sig))`;

/** CEF extension: keys are the words before unescaped '=' signs; values run to the next key. */
function parseCefExtension(text: string): Record<string, string> {
  const keys = [...text.matchAll(/(?:^| )(\w+)=/g)].filter((m) => text[m.index + m[0].length - 2] !== '\\');
  return Object.fromEntries(
    keys.map((m, i) => {
      const start = m.index + m[0].length;
      const end = i + 1 < keys.length ? keys[i + 1]!.index : text.length;
      const value = text.slice(start, end).replace(/\\n/g, '\n').replace(/\\r/g, '\r').replace(/\\(.)/g, '$1');
      return [m[1]!, value];
    }),
  );
}

/** Starts an export and stops reading once the headers are in, like a client that stalls. */
function openExportWithoutReading(client: TestClient): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ format: 'jsonl', filter: {} });
    const request = httpRequest(`${client.baseUrl}/api/audit/exports`, {
      method: 'POST',
      headers: { origin: client.origin, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), cookie: client.cookie ?? '' },
    });
    request.on('response', (response) => {
      response.pause();
      if (response.statusCode === 200) resolve(request);
      else reject(new Error(`export answered ${response.statusCode}`));
    });
    request.on('error', () => undefined);
    request.end(body);
  });
}
