import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { GrantResponse } from '../../shared/api.ts';
import { DETECTOR_CLOSE, DETECTOR_PROTOCOL, PAIRING_CODE_ALPHABET, type DetectorListResponse, type PairingCodeResponse } from '../../shared/detector.ts';
import { backoffBounds } from '../../client/lib/backoff.ts';
import type { DetectorCredentials } from '../../client/detector/credentials.ts';
import { DetectorClient, detectorUrl, type DetectorState, type DetectorTimings } from '../../client/detector/detectorClient.ts';
import { fakeSecurityKey, FakeHidSource } from '../../client/detector/hidSource.ts';
import { pair, PairingError } from '../../client/detector/pair.ts';
import { query } from '../db/pool.ts';
import { enrollUser, errorCode, expireStepUp, insertKeyRow, lastAudit, startTestNode, stepUpWith, type TestClient, type TestNode } from '../test/harness.ts';
import { freePort } from '../test/env.ts';
import type { SoftAuthenticator } from '../test/softAuthenticator.ts';
import { TestSocket } from '../test/wsClient.ts';
import { wsConnectionsActive, wsConnectionsTotal, wsMessages } from '../metrics.ts';

/**
 * The detector end to end: the real CLI modules (pairing, watcher, WebSocket client with
 * backoff and TLS) against real Argus nodes, with a fake HID source to plug keys in and out.
 */
const LIFTED = { SIGNIN_RATE_PER_MINUTE: '1000', DETECTOR_PAIRINGS_PER_HOUR: '1000', DETECTOR_CONNECTIONS_PER_MINUTE_PER_IP: '1000', DETECTOR_CONNECTIONS_PER_MINUTE: '1000' };
const FAST: Partial<DetectorTimings> = { pollMs: 20, backoff: { initialMs: 100, factor: 2, maxMs: 400, jitter: 0.3 } };

let port: number;
let node: TestNode;
const configRoot = mkdtempSync(path.join(tmpdir(), 'argus-detector-test-'));
let configCount = 0;
const running: DetectorClient[] = [];

async function startNodeOn(listenPort: number, extra: Record<string, string> = {}, shared?: { databaseUrl: string; redisPrefix: string }) {
  return startTestNode({ ...LIFTED, PORT: String(listenPort), ARGUS_ORIGIN: `http://127.0.0.1:${listenPort}`, ...extra }, shared);
}

beforeAll(async () => {
  port = await freePort();
  node = await startNodeOn(port);
});
afterAll(async () => {
  for (const client of running) client.stop();
  await node.destroy();
});

type Person = Awaited<ReturnType<typeof enrollUser>>;
let people = 0;
function person(): Promise<Person> {
  people += 1;
  return enrollUser(node, { username: `watcher${people}`, password: `seven silver spoons ${people}` });
}

function configDir(): string {
  configCount += 1;
  return path.join(configRoot, `config-${configCount}`, 'argus-detector');
}

async function pairingCode(client: TestClient): Promise<PairingCodeResponse> {
  const response = await client.post<PairingCodeResponse>('/api/detectors/pairing-codes');
  expect(response.status).toBe(201);
  return response.body;
}

async function paired(p: Person, server = node.deps.config.origin): Promise<DetectorCredentials> {
  const { code } = await pairingCode(p.client);
  return (await pair({ code, server, configDir: configDir(), name: 'test laptop' })).credentials;
}

/** Starts a detector and waits until the server has welcomed it. */
async function online(credentials: DetectorCredentials, source: FakeHidSource, options: { ca?: Buffer; timings?: Partial<DetectorTimings> } = {}) {
  const states: DetectorState[] = [];
  const client = new DetectorClient({ credentials, source, ca: options.ca, timings: { ...FAST, ...options.timings }, onState: (s) => states.push(s) });
  running.push(client);
  await client.start();
  await expect.poll(() => states.some((s) => s.state === 'online'), { timeout: 5_000 }).toBe(true);
  return { client, states };
}

function socketFor(p: Person): Promise<TestSocket> {
  return TestSocket.open(node.url, { cookie: p.client.cookie, origin: node.deps.config.origin });
}

async function unlock(client: TestClient, authenticator: SoftAuthenticator, presenceMode = 'detector') {
  const options = await client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options');
  return client.post<GrantResponse>('/api/verify-key-ownership', { response: authenticator.assert(options.body.options), presenceMode });
}

async function currentGrant(client: TestClient) {
  return (await client.get<GrantResponse>('/api/grants/current')).body.grant;
}

/** A raw protocol connection, to send what a real detector never would. */
function rawSocket(protocols: string[], url = detectorUrl(node.deps.config.origin)): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols);
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode })));
    socket.once('error', reject);
  });
}

function closeOf(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
}

function serialOf(keyId: string) {
  return query<{ hid_serial: string | null }>(node.deps.pool, 't', 'SELECT hid_serial FROM security_key WHERE id = $1', [keyId]).then((r) => r.rows[0]?.hid_serial);
}

/** The foreign-key events a detector raised, oldest first. */
async function mismatchesSeenBy(detectorId: string) {
  const { rows } = await query<{ severity: string; details: Record<string, unknown> }>(
    node.deps.pool,
    't',
    "SELECT severity, details FROM audit_event WHERE action = 'detector.key_mismatch' AND target_id = $1 ORDER BY seq",
    [detectorId],
  );
  return rows;
}

describe('pairing', () => {
  it('trades a one-time code for a device key stored owner-only and hashed with Argon2id on the server', async () => {
    const p = await person();
    const issued = await pairingCode(p.client);
    expect(issued.code).toMatch(new RegExp(`^[${PAIRING_CODE_ALPHABET}]{8}$`));
    expect(Date.parse(issued.expiresAt) - Date.now()).toBeGreaterThan(590_000);
    expect(Date.parse(issued.expiresAt) - Date.now()).toBeLessThanOrEqual(600_000);
    expect(issued.commands.npx).toBe(`npx argus-detector pair ${issued.code} --server ${node.deps.config.origin}`);
    expect(issued.commands.checkout).toBe(`npm run detector -- pair ${issued.code} --server ${node.deps.config.origin}`);

    const dir = configDir();
    // Typed the way a person might: lower case with a dash.
    const typed = `${issued.code.slice(0, 4).toLowerCase()}-${issued.code.slice(4)}`;
    const { credentials, file } = await pair({ code: typed, server: node.deps.config.origin, configDir: dir, name: 'desk' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ server: node.deps.config.origin, detectorId: credentials.detectorId, keyId: credentials.keyId });
    expect(Buffer.from(credentials.secret, 'base64url')).toHaveLength(32);

    const { rows } = await query<{ key_hash: string; key_id: string }>(node.deps.pool, 't', 'SELECT key_hash, key_id FROM detector WHERE id = $1', [credentials.detectorId]);
    expect(rows[0]!.key_id).toBe(credentials.keyId);
    expect(rows[0]!.key_hash).toMatch(/^\$argon2id\$v=19\$m=49152,p=1,t=3\$/);
    expect(rows[0]!.key_hash).not.toContain(credentials.secret);
    expect(await lastAudit(node, 'detector.paired')).toMatchObject({ targetId: credentials.detectorId, details: { name: 'desk' } });

    const list = (await p.client.get<DetectorListResponse>('/api/detectors')).body.detectors;
    expect(list).toEqual([expect.objectContaining({ id: credentials.detectorId, name: 'desk', online: false, keys: [] })]);
    expect(JSON.stringify(list)).not.toContain(credentials.keyId);
  });

  it('refuses a wrong, a reused and an expired code alike, and audits which it was', async () => {
    const p = await person();
    const attempt = (code: string) => pair({ code, server: node.deps.config.origin, configDir: configDir() });
    await expect(attempt('ABCDEFGH')).rejects.toMatchObject({ code: 'PAIRING_CODE_INVALID' });
    expect((await lastAudit(node, 'detector.pairing_failed'))?.details).toEqual({ reason: 'unknown' });
    await expect(attempt('0O1IL')).rejects.toBeInstanceOf(PairingError);
    expect((await lastAudit(node, 'detector.pairing_failed'))?.details).toEqual({ reason: 'malformed' });

    const { code } = await pairingCode(p.client);
    await attempt(code);
    await expect(attempt(code)).rejects.toMatchObject({ code: 'PAIRING_CODE_INVALID' });
    expect((await lastAudit(node, 'detector.pairing_failed'))?.details).toEqual({ reason: 'used' });

    const stale = await pairingCode(p.client);
    await query(node.deps.pool, 't', "UPDATE detector_pairing_code SET expires_at = now() - interval '1 second' WHERE used_at IS NULL");
    await expect(attempt(stale.code)).rejects.toMatchObject({ code: 'PAIRING_CODE_INVALID' });
    expect((await lastAudit(node, 'detector.pairing_failed'))?.details).toEqual({ reason: 'expired' });
    // Only the one good attempt paired anything.
    expect((await p.client.get<DetectorListResponse>('/api/detectors')).body.detectors).toHaveLength(1);
  });

  it("issues a pairing code only after a fresh touch of the owner's key (STEP_UP_REQUIRED before)", async () => {
    const p = await person();
    await expireStepUp(node, p.client);
    const refused = await p.client.post('/api/detectors/pairing-codes');
    expect(refused.status).toBe(403);
    expect(errorCode(refused)).toBe('STEP_UP_REQUIRED');
    // Nothing was issued: no code row, no audit record for this user.
    const { rows } = await query<{ n: number }>(node.deps.pool, 't', 'SELECT count(*)::int AS n FROM detector_pairing_code WHERE user_id = $1', [p.userId]);
    expect(rows[0]!.n).toBe(0);
    await stepUpWith(p.client, p.authenticator);
    const { credentials } = await pair({ code: (await pairingCode(p.client)).code, server: node.deps.config.origin, configDir: configDir() });
    expect((await p.client.get<DetectorListResponse>('/api/detectors')).body.detectors.map((d) => d.id)).toEqual([credentials.detectorId]);
  });

  it('limits pairing attempts per address before looking at the code', async () => {
    const strictPort = await freePort();
    const strict = await startNodeOn(strictPort, { DETECTOR_PAIRINGS_PER_HOUR: '3' });
    try {
      const attempt = () => pair({ code: 'ABCDEFGH', server: strict.deps.config.origin, configDir: configDir() });
      for (let i = 0; i < 3; i += 1) await expect(attempt()).rejects.toMatchObject({ code: 'PAIRING_CODE_INVALID' });
      await expect(attempt()).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    } finally {
      await strict.destroy();
    }
  });
});

describe('the handshake', () => {
  it('accepts the device key in Sec-WebSocket-Protocol and echoes only the protocol name', async () => {
    const credentials = await paired(await person());
    const headers = new Promise<Record<string, string | string[] | undefined>>((resolve) => {
      const socket = new WebSocket(detectorUrl(credentials.server), [DETECTOR_PROTOCOL, `${credentials.keyId}.${credentials.secret}`]);
      socket.once('upgrade', (response) => resolve(response.headers));
      socket.once('open', () => socket.close());
    });
    const echoed = await headers;
    expect(echoed['sec-websocket-protocol']).toBe(DETECTOR_PROTOCOL);
    expect(JSON.stringify(echoed)).not.toContain(credentials.secret);
  });

  it('refuses a wrong secret, an unknown key, a revoked detector, a key in the URL, and a foreign web page', async () => {
    const p = await person();
    const credentials = await paired(p);
    const wrong = `${credentials.keyId}.${'A'.repeat(43)}`;
    await expect(rawSocket([DETECTOR_PROTOCOL, wrong])).rejects.toMatchObject({ status: 401 });
    expect(await lastAudit(node, 'detector.auth_failed')).toMatchObject({ targetId: credentials.detectorId, details: { reason: 'wrong_secret' } });
    await expect(rawSocket([DETECTOR_PROTOCOL, `${'B'.repeat(22)}.${credentials.secret}`])).rejects.toMatchObject({ status: 401 });
    await expect(rawSocket(['chat', `${credentials.keyId}.${credentials.secret}`])).rejects.toMatchObject({ status: 400 });
    await expect(rawSocket([DETECTOR_PROTOCOL])).rejects.toMatchObject({ status: 401 });
    await expect(
      rawSocket([DETECTOR_PROTOCOL], `${detectorUrl(credentials.server)}?key=${credentials.keyId}.${credentials.secret}`),
    ).rejects.toMatchObject({ status: 401 });
    const page = new WebSocket(detectorUrl(credentials.server), [DETECTOR_PROTOCOL, `${credentials.keyId}.${credentials.secret}`], { origin: 'https://evil.example' });
    await expect(new Promise((_, reject) => page.once('unexpected-response', (_r, res) => reject(res.statusCode)))).rejects.toBe(403);

    // The right key works, until the owner revokes the detector.
    const ok = await rawSocket([DETECTOR_PROTOCOL, `${credentials.keyId}.${credentials.secret}`]);
    ok.close();
    expect((await p.client.request('DELETE', `/api/detectors/${credentials.detectorId}`)).status).toBe(204);
    await expect(rawSocket([DETECTOR_PROTOCOL, `${credentials.keyId}.${credentials.secret}`])).rejects.toMatchObject({ status: 401 });
    expect(await lastAudit(node, 'detector.auth_failed')).toMatchObject({ details: { reason: 'unknown_or_revoked' } });
  });

  it('limits connections per detector before hashing', async () => {
    const strictPort = await freePort();
    const strict = await startNodeOn(strictPort, { DETECTOR_CONNECTIONS_PER_MINUTE: '2' });
    try {
      const owner = await enrollUser(strict, { username: 'limited', password: 'seven silver spoons per minute' });
      const { code } = (await owner.client.post<PairingCodeResponse>('/api/detectors/pairing-codes')).body;
      const { credentials } = await pair({ code, server: strict.deps.config.origin, configDir: configDir() });
      const protocols = [DETECTOR_PROTOCOL, `${credentials.keyId}.${credentials.secret}`];
      const url = detectorUrl(credentials.server);
      (await rawSocket(protocols, url)).close();
      (await rawSocket(protocols, url)).close();
      await expect(rawSocket(protocols, url)).rejects.toMatchObject({ status: 429 });
      const audited = await query<{ n: number }>(strict.deps.pool, 't', "SELECT count(*)::int AS n FROM audit_event WHERE action = 'detector.auth_failed'");
      expect(audited.rows[0]!.n).toBe(0);
    } finally {
      await strict.destroy();
    }
  });

  it('limits connections per address, whatever key they carry', async () => {
    const strictPort = await freePort();
    const strict = await startNodeOn(strictPort, { DETECTOR_CONNECTIONS_PER_MINUTE_PER_IP: '2' });
    try {
      const url = detectorUrl(strict.deps.config.origin);
      const bogus = () => rawSocket([DETECTOR_PROTOCOL, `${'C'.repeat(22)}.${'D'.repeat(43)}`], url);
      await expect(bogus()).rejects.toMatchObject({ status: 401 });
      await expect(bogus()).rejects.toMatchObject({ status: 401 });
      await expect(bogus()).rejects.toMatchObject({ status: 429 });
    } finally {
      await strict.destroy();
    }
  });

  it("refuses the detector of a disabled account", async () => {
    const p = await person();
    const credentials = await paired(p);
    await query(node.deps.pool, 't', "UPDATE app_user SET status = 'disabled' WHERE id = $1", [p.userId]);
    await expect(rawSocket([DETECTOR_PROTOCOL, `${credentials.keyId}.${credentials.secret}`])).rejects.toMatchObject({ status: 401 });
  });
});

describe('presence reports', () => {
  it('shows the detector online with the keys it sees, in the list and as DETECTOR_STATUS', async () => {
    const p = await person();
    const socket = await socketFor(p);
    const credentials = await paired(p);
    const source = new FakeHidSource([fakeSecurityKey('SN-1'), { vendorId: 0x046d, productId: 0xc52b, product: 'Mouse', usagePage: 1 }]);
    const { client } = await online(credentials, source);
    await expect
      .poll(async () => (await p.client.get<DetectorListResponse>('/api/detectors')).body.detectors[0])
      .toMatchObject({ online: true, keys: [expect.objectContaining({ serialNumber: 'SN-1', vendorId: 0x1050 })] });
    await expect.poll(() => socket.events.some((e) => e.type === 'DETECTOR_STATUS' && e.status === 'online' && e.keys.length === 1)).toBe(true);

    source.plug(fakeSecurityKey('SN-2'));
    await expect.poll(() => socket.events.some((e) => e.type === 'DETECTOR_STATUS' && e.keys.length === 2)).toBe(true);
    client.stop();
    await expect.poll(() => socket.events.some((e) => e.type === 'DETECTOR_STATUS' && e.status === 'offline')).toBe(true);
    const after = (await p.client.get<DetectorListResponse>('/api/detectors')).body.detectors[0]!;
    expect(after).toMatchObject({ online: false, keys: [] });
    expect(after.lastSeenAt).not.toBeNull();
    socket.close();
  });

  it('is counted in the metrics: connections open and accepted, messages in and out', async () => {
    const metric = async (counter: typeof wsMessages | typeof wsConnectionsActive | typeof wsConnectionsTotal, labels: Record<string, string>) =>
      (await counter.get()).values.find((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val))?.value ?? 0;
    const before = {
      total: await metric(wsConnectionsTotal, { kind: 'detector' }),
      active: await metric(wsConnectionsActive, { kind: 'detector' }),
      in: await metric(wsMessages, { kind: 'detector', direction: 'in' }),
      out: await metric(wsMessages, { kind: 'detector', direction: 'out' }),
    };
    const p = await person();
    const { client } = await online(await paired(p), new FakeHidSource([fakeSecurityKey('SN-M')]));
    expect(await metric(wsConnectionsTotal, { kind: 'detector' })).toBe(before.total + 1);
    expect(await metric(wsConnectionsActive, { kind: 'detector' })).toBe(before.active + 1);
    await expect.poll(() => metric(wsMessages, { kind: 'detector', direction: 'in' })).toBeGreaterThan(before.in); // hello
    expect(await metric(wsMessages, { kind: 'detector', direction: 'out' })).toBeGreaterThan(before.out); // welcome
    client.stop();
    await expect.poll(() => metric(wsConnectionsActive, { kind: 'detector' })).toBe(before.active);
  });

  it('sends heartbeats that keep it seen', async () => {
    const p = await person();
    const credentials = await paired(p);
    await online(credentials, new FakeHidSource(), { timings: { heartbeatMs: 100 } });
    await query(node.deps.pool, 't', 'UPDATE detector SET last_seen_at = NULL WHERE id = $1', [credentials.detectorId]);
    await expect
      .poll(async () => (await query<{ seen: Date | null }>(node.deps.pool, 't', 'SELECT last_seen_at AS seen FROM detector WHERE id = $1', [credentials.detectorId])).rows[0]!.seen)
      .not.toBeNull();
  });

  it('binds the one key it sees to the credential at unlock; unplugging it ends the grant (key_removed)', async () => {
    const p = await person();
    const socket = await socketFor(p);
    const source = new FakeHidSource([fakeSecurityKey('SN-OWN')]);
    await online(await paired(p), source);
    await expect.poll(async () => (await p.client.get<DetectorListResponse>('/api/detectors')).body.detectors[0]?.keys.length).toBe(1);

    const grant = (await unlock(p.client, p.authenticator)).body.grant!;
    expect(grant.presenceMode).toBe('detector');
    expect(await serialOf(p.keyId)).toBe('SN-OWN');
    expect(await lastAudit(node, 'detector.serial_bound')).toMatchObject({ targetId: p.keyId, details: { serialNumber: 'SN-OWN', previous: null } });

    // Another key coming and going is not this grant's key.
    source.plug(fakeSecurityKey('SN-OTHER', { productId: 0x0120 }));
    await expect.poll(async () => (await p.client.get<DetectorListResponse>('/api/detectors')).body.detectors[0]?.keys.length).toBe(2);
    source.unplug({ vendorId: 0x1050, productId: 0x0120, serialNumber: 'SN-OTHER' });
    await expect.poll(async () => (await p.client.get<DetectorListResponse>('/api/detectors')).body.detectors[0]?.keys.length).toBe(1);
    expect((await currentGrant(p.client))?.id).toBe(grant.id);

    source.unplug({ vendorId: 0x1050, productId: 0x0407, serialNumber: 'SN-OWN' });
    expect((await socket.next('GRANT_REVOKED')).reason).toBe('key_removed');
    expect(await currentGrant(p.client)).toBeNull();
    await expect.poll(async () => (await lastAudit(node, 'grant.revoked'))?.details).toMatchObject({ reason: 'key_removed', keyId: p.keyId });
    socket.close();
  });

  it('binds nothing when it sees several keys or none', async () => {
    const p = await person();
    const source = new FakeHidSource([fakeSecurityKey('SN-A'), fakeSecurityKey('SN-B', { productId: 0x0120 })]);
    await online(await paired(p), source);
    await expect.poll(async () => (await p.client.get<DetectorListResponse>('/api/detectors')).body.detectors[0]?.keys.length).toBe(2);
    expect((await unlock(p.client, p.authenticator)).status).toBe(200);
    expect(await serialOf(p.keyId)).toBeNull();
  });

  it('never creates or extends a grant, whatever it reports (docs/architecture.md invariant 2)', async () => {
    const p = await person();
    const socket = await socketFor(p);
    const credentials = await paired(p);
    await query(node.deps.pool, 't', "UPDATE security_key SET hid_serial = 'SN-INV' WHERE id = $1", [p.keyId]);
    const raw = await rawSocket([DETECTOR_PROTOCOL, `${credentials.keyId}.${credentials.secret}`]);
    const key = { vendorId: 0x1050, productId: 0x0407, product: 'YubiKey', manufacturer: 'Yubico', serialNumber: 'SN-INV' };
    const send = (message: unknown) => raw.send(JSON.stringify(message));
    send({ type: 'hello', keys: [key] });
    send({ type: 'attach', key });
    send({ type: 'heartbeat', detectorId: credentials.detectorId, at: new Date().toISOString(), memoryBytes: 1 });
    await expect.poll(async () => (await p.client.get<DetectorListResponse>('/api/detectors')).body.detectors[0]?.keys.length).toBe(1);
    expect(await currentGrant(p.client)).toBeNull();
    expect(socket.events.filter((e) => e.type === 'MODELS_UNLOCKED')).toEqual([]);

    const grant = (await unlock(p.client, p.authenticator)).body.grant!;
    const stored = await node.deps.redis.pttl(`grant:${grant.id}`);
    for (let i = 0; i < 5; i += 1) {
      send({ type: 'detach', key });
      send({ type: 'attach', key });
    }
    // The first detach already ended it; nothing after brings it back.
    expect((await socket.next('GRANT_REVOKED')).reason).toBe('key_removed');
    await new Promise((r) => setTimeout(r, 200));
    expect(await currentGrant(p.client)).toBeNull();
    expect(stored).toBeGreaterThan(0);
    expect(await node.deps.redis.exists(`grant:${grant.id}`)).toBe(0);
    expect(socket.events.filter((e) => e.type === 'MODELS_UNLOCKED').length).toBe(1);
    raw.close();
    socket.close();
  });

  it("raises KEY_MISMATCH_ERROR and a high audit event for another user's key, and ends nothing of theirs", async () => {
    const owner = await person();
    const other = await person();
    await query(node.deps.pool, 't', "UPDATE security_key SET hid_serial = 'SN-THEIRS' WHERE id = $1", [other.keyId]);
    const otherSocket = await socketFor(other);
    const otherGrant = (await unlock(other.client, other.authenticator, 'assertion')).body.grant!;
    const socket = await socketFor(owner);
    // The owner's own key is known: their unlock bound it, so a key bound to someone else is not theirs.
    const source = new FakeHidSource([fakeSecurityKey('SN-MINE')]);
    await online(await paired(owner), source);
    await expect.poll(async () => (await owner.client.get<DetectorListResponse>('/api/detectors')).body.detectors[0]?.keys.length).toBe(1);
    expect((await unlock(owner.client, owner.authenticator)).status).toBe(200);
    expect(await serialOf(owner.keyId)).toBe('SN-MINE');

    source.plug(fakeSecurityKey('SN-THEIRS', { productId: 0x0120 }));
    expect((await socket.next('KEY_MISMATCH_ERROR')).message).toMatch(/registered to another account/);
    const audit = await lastAudit(node, 'detector.key_mismatch');
    expect(audit).toMatchObject({
      severity: 'high',
      outcome: 'denied',
      details: { ownerId: owner.userId, keyOwnerIds: [other.userId], serialNumber: 'SN-THEIRS', confirmed: true, ownerUnboundKeyIds: [] },
    });
    // The other user hears nothing, and a detach by this detector cannot end their grant.
    source.unplug({ vendorId: 0x1050, productId: 0x0120, serialNumber: 'SN-THEIRS' });
    await new Promise((r) => setTimeout(r, 200));
    expect((await currentGrant(other.client))?.id).toBe(otherGrant.id);
    expect(otherSocket.events.filter((e) => e.type === 'KEY_MISMATCH_ERROR' || e.type === 'GRANT_REVOKED')).toEqual([]);
    socket.close();
    otherSocket.close();
  });

  it("raises no alarm in a user's sessions for their own key whose serial another user's lying detector bound first (G11)", async () => {
    const attacker = await person();
    const victim = await person();
    // The attacker read the serial off the victim's key; their detector reports it as the one key it sees.
    await online(await paired(attacker), new FakeHidSource([fakeSecurityKey('SN-VICTIM')]));
    await expect.poll(async () => (await attacker.client.get<DetectorListResponse>('/api/detectors')).body.detectors[0]?.keys.length).toBe(1);
    expect((await unlock(attacker.client, attacker.authenticator)).status).toBe(200);
    expect(await serialOf(attacker.keyId)).toBe('SN-VICTIM');

    // The victim plugs in their own key, whose serial no detector of theirs has learned yet.
    const socket = await socketFor(victim);
    const credentials = await paired(victim);
    const source = new FakeHidSource();
    await online(credentials, source);
    source.plug(fakeSecurityKey('SN-VICTIM'));
    await expect.poll(async () => (await mismatchesSeenBy(credentials.detectorId)).length).toBe(1);
    expect(await mismatchesSeenBy(credentials.detectorId)).toEqual([
      { severity: 'low', details: expect.objectContaining({ ownerId: victim.userId, keyOwnerIds: [attacker.userId], confirmed: false, ownerUnboundKeyIds: [victim.keyId] }) },
    ]);

    // Their first unlock binds it to them; from then on it is simply their key.
    await expect.poll(async () => (await victim.client.get<DetectorListResponse>('/api/detectors')).body.detectors[0]?.keys.length).toBe(1);
    expect((await unlock(victim.client, victim.authenticator)).status).toBe(200);
    expect(await serialOf(victim.keyId)).toBe('SN-VICTIM');
    source.unplug({ vendorId: 0x1050, productId: 0x0407, serialNumber: 'SN-VICTIM' });
    expect((await socket.next('GRANT_REVOKED')).reason).toBe('key_removed');
    source.plug(fakeSecurityKey('SN-VICTIM'));
    await expect.poll(async () => (await victim.client.get<DetectorListResponse>('/api/detectors')).body.detectors[0]?.keys.length).toBe(1);
    expect(await mismatchesSeenBy(credentials.detectorId)).toHaveLength(1);
    expect(socket.events.filter((e) => e.type === 'KEY_MISMATCH_ERROR')).toEqual([]);
    socket.close();
  });

  it("only records another user's key (low) while one of the owner's hardware keys has no serial bound; a synced passkey does not count", async () => {
    const owner = await person();
    const other = await person();
    await query(node.deps.pool, 't', "UPDATE security_key SET hid_serial = 'SN-FOREIGN' WHERE id = $1", [other.keyId]);
    await query(node.deps.pool, 't', "UPDATE security_key SET hid_serial = 'SN-OWNER' WHERE id = $1", [owner.keyId]);
    const spare = await insertKeyRow(node, owner.userId);
    const socket = await socketFor(owner);
    const credentials = await paired(owner);
    const source = new FakeHidSource();
    await online(credentials, source);
    const foreign = fakeSecurityKey('SN-FOREIGN');

    // The spare key has never been seen by a detector: the key plugged in might be it.
    source.plug(foreign);
    await expect.poll(async () => (await mismatchesSeenBy(credentials.detectorId)).length).toBe(1);
    expect((await mismatchesSeenBy(credentials.detectorId))[0]).toEqual({
      severity: 'low',
      details: expect.objectContaining({ keyOwnerIds: [other.userId], confirmed: false, ownerUnboundKeyIds: [spare] }),
    });
    expect(socket.events.filter((e) => e.type === 'KEY_MISMATCH_ERROR')).toEqual([]);

    // A synced passkey is no HID key and is never bound: with only that left, the alarm stands.
    await query(node.deps.pool, 't', "UPDATE security_key SET device_type = 'multiDevice', backed_up = true WHERE id = $1", [spare]);
    source.unplug(foreign);
    await expect.poll(async () => (await owner.client.get<DetectorListResponse>('/api/detectors')).body.detectors[0]?.keys.length).toBe(0);
    source.plug(foreign);
    expect((await socket.next('KEY_MISMATCH_ERROR')).message).toMatch(/registered to another account/);
    expect((await mismatchesSeenBy(credentials.detectorId))[1]).toEqual({
      severity: 'high',
      details: expect.objectContaining({ keyOwnerIds: [other.userId], confirmed: true, ownerUnboundKeyIds: [] }),
    });
    socket.close();
  });
});

describe('bad messages', () => {
  async function connected() {
    const credentials = await paired(await person());
    const socket = await rawSocket([DETECTOR_PROTOCOL, `${credentials.keyId}.${credentials.secret}`]);
    return { socket, credentials, closed: closeOf(socket) };
  }

  it('close the connection with a clear code and reason, and the server carries on', async () => {
    const cases: Array<[string, (s: WebSocket, id: string) => void, number, RegExp]> = [
      ['not JSON', (s) => s.send('{nope'), DETECTOR_CLOSE.MALFORMED, /malformed/],
      ['unknown type', (s) => s.send(JSON.stringify({ type: 'grant', models: ['demo-restricted'] })), DETECTOR_CLOSE.MALFORMED, /malformed/],
      ['extra fields', (s) => s.send(JSON.stringify({ type: 'hello', keys: [], admin: true })), DETECTOR_CLOSE.MALFORMED, /malformed/],
      ['a bad key', (s) => s.send(JSON.stringify({ type: 'hello', keys: [{ vendorId: -1 }] })), DETECTOR_CLOSE.MALFORMED, /malformed/],
      // Found by the fuzzer: Postgres cannot store U+0000, so such a report used to fail half-applied.
      ['a NUL in a key name', (s) => s.send(JSON.stringify({ type: 'hello', keys: [{ vendorId: 1, productId: 2, product: 'Key\u0000', manufacturer: null, serialNumber: 'S\u0000N' }] })), DETECTOR_CLOSE.MALFORMED, /malformed/],
      ['a lone surrogate in a serial', (s) => s.send(JSON.stringify({ type: 'hello', keys: [{ vendorId: 1, productId: 2, product: null, manufacturer: null, serialNumber: 'SN\uD800' }] })), DETECTOR_CLOSE.MALFORMED, /malformed/],
      ['binary', (s) => s.send(Buffer.from([1, 2, 3])), DETECTOR_CLOSE.MALFORMED, /binary/],
      ['too big', (s) => s.send('x'.repeat(20_000)), DETECTOR_CLOSE.TOO_BIG, /./],
      ['attach before hello', (s) => s.send(JSON.stringify({ type: 'attach', key: { vendorId: 1, productId: 2, product: null, manufacturer: null, serialNumber: 'X' } })), DETECTOR_CLOSE.UNEXPECTED, /before hello/],
      ['a second hello', (s) => { s.send(JSON.stringify({ type: 'hello', keys: [] })); s.send(JSON.stringify({ type: 'hello', keys: [] })); }, DETECTOR_CLOSE.UNEXPECTED, /already/],
      ['another detector’s heartbeat', (s) => s.send(JSON.stringify({ type: 'heartbeat', detectorId: '00000000-0000-4000-8000-000000000000', at: new Date().toISOString(), memoryBytes: 1 })), DETECTOR_CLOSE.UNEXPECTED, /another detector/],
      ['a flood', (s, id) => { for (let i = 0; i < 100; i += 1) s.send(JSON.stringify({ type: 'heartbeat', detectorId: id, at: new Date().toISOString(), memoryBytes: 1 })); }, DETECTOR_CLOSE.TOO_MANY_MESSAGES, /too many messages/],
    ];
    for (const [name, act, code, reason] of cases) {
      const { socket, closed, credentials } = await connected();
      act(socket, credentials.detectorId);
      const result = await closed;
      expect({ name, code: result.code }).toEqual({ name, code });
      if (code !== DETECTOR_CLOSE.TOO_BIG) expect(result.reason).toMatch(reason);
    }
    expect((await node.client().get('/healthz')).status).toBe(200);
    // Twelve fresh pairings (an Argon2id hash each): on a busy 2-core machine that is more than the default 20 s.
  }, 60_000);
});

describe('revocation', () => {
  it('closes the live connection at once, on whichever node holds it, and the detector stops', async () => {
    const otherNode = await startTestNode({ ...LIFTED, PORT: '0', ARGUS_ORIGIN: node.deps.config.origin }, { databaseUrl: node.databaseUrl, redisPrefix: node.redisPrefix });
    try {
      const p = await person();
      const credentials = await paired(p);
      // The detector is on the second node; the owner revokes on the first.
      const source = new FakeHidSource([fakeSecurityKey('SN-R')]);
      const onOther = { ...credentials, server: otherNode.url };
      const { states } = await online(onOther, source);
      const socket = await socketFor(p);
      expect((await p.client.request('DELETE', `/api/detectors/${credentials.detectorId}`)).status).toBe(204);
      await expect.poll(() => states.at(-1)).toMatchObject({ state: 'stopped', reason: expect.stringMatching(/revoked/) });
      expect(otherNode.detectors.count()).toBe(0);
      expect((await socket.next('DETECTOR_STATUS')).status).toMatch(/online|revoked/);
      expect((await p.client.get<DetectorListResponse>('/api/detectors')).body.detectors).toEqual([]);
      expect(await lastAudit(node, 'detector.revoked')).toMatchObject({ details: { by: 'owner' } });
      socket.close();

      // Had the bus event been missed, the next heartbeat finds the detector revoked and closes.
      const second = await paired(p);
      const raw = await rawSocket([DETECTOR_PROTOCOL, `${second.keyId}.${second.secret}`], detectorUrl(otherNode.url));
      const closed = closeOf(raw);
      await query(node.deps.pool, 't', 'UPDATE detector SET revoked_at = now() WHERE id = $1', [second.detectorId]);
      raw.send(JSON.stringify({ type: 'heartbeat', detectorId: second.detectorId, at: new Date().toISOString(), memoryBytes: 1 }));
      expect(await closed).toEqual({ code: DETECTOR_CLOSE.REVOKED, reason: 'this detector was revoked' });
    } finally {
      await otherNode.destroy();
    }
  });

  it('a second copy of the same detector takes over, and the first stops instead of fighting back', async () => {
    const credentials = await paired(await person());
    const first = await online(credentials, new FakeHidSource());
    const second = await online(credentials, new FakeHidSource());
    await expect.poll(() => first.states.at(-1)).toMatchObject({ state: 'stopped', reason: expect.stringMatching(/took over/) });
    await new Promise((r) => setTimeout(r, 300));
    expect(second.states.at(-1)).toMatchObject({ state: 'online' });
    expect(node.detectors.count()).toBeGreaterThanOrEqual(1);
  });

  it('lets admins list and revoke any detector; users cannot, nor revoke one not theirs', async () => {
    const admin = await enrollUser(node, { username: 'detector-admin', role: 'admin', password: 'twelve tall ladders here' });
    const p = await person();
    const stranger = await person();
    const credentials = await paired(p);
    await online(credentials, new FakeHidSource([fakeSecurityKey('SN-ADM')]));
    expect(errorCode(await p.client.get('/api/admin/detectors'))).toBe('FORBIDDEN');
    expect(errorCode(await p.client.request('DELETE', `/api/admin/detectors/${credentials.detectorId}`))).toBe('FORBIDDEN');
    expect(errorCode(await stranger.client.request('DELETE', `/api/detectors/${credentials.detectorId}`))).toBe('NOT_FOUND');

    const listed = (await admin.client.get<DetectorListResponse>('/api/admin/detectors?limit=100')).body.detectors;
    expect(listed.find((d) => d.id === credentials.detectorId)).toMatchObject({ online: true, ownerUsername: `watcher${people - 1}`, keys: [expect.objectContaining({ serialNumber: 'SN-ADM' })] });
    const firstPage = await admin.client.get<DetectorListResponse>('/api/admin/detectors?limit=1');
    expect(firstPage.body.detectors).toHaveLength(1);
    expect(firstPage.body.nextCursor).not.toBeNull();
    expect(errorCode(await admin.client.get('/api/admin/detectors?after=bogus'))).toBe('VALIDATION_FAILED');

    expect((await admin.client.request('DELETE', `/api/admin/detectors/${credentials.detectorId}`)).status).toBe(204);
    expect(await lastAudit(node, 'detector.revoked')).toMatchObject({ details: { by: 'admin' } });
    expect(errorCode(await admin.client.request('DELETE', `/api/admin/detectors/${credentials.detectorId}`))).toBe('NOT_FOUND');
  });
});

describe('reconnecting', () => {
  it('after a server restart, backs off within the stated bounds and sends the full list again', async () => {
    const restartPort = await freePort();
    const shared = { databaseUrl: node.databaseUrl, redisPrefix: node.redisPrefix };
    let current: TestNode | null = await startNodeOn(restartPort, {}, shared);
    try {
      const owner = await person();
      const { code } = await pairingCode(owner.client);
      const { credentials } = await pair({ code, server: current.deps.config.origin, configDir: configDir() });
      const source = new FakeHidSource([fakeSecurityKey('SN-RESTART')]);
      const timed: Array<DetectorState & { at: number }> = [];
      const client = new DetectorClient({ credentials, source, timings: FAST, onState: (s) => timed.push({ ...s, at: performance.now() }) });
      running.push(client);
      await client.start();
      await expect.poll(() => timed.some((s) => s.state === 'online')).toBe(true);

      await current.close();
      current = null;
      // Down for a while: several attempts fail, each waiting longer, up to the cap.
      await expect.poll(() => timed.filter((s) => s.state === 'waiting').length, { timeout: 8_000 }).toBeGreaterThanOrEqual(5);
      source.plug(fakeSecurityKey('SN-LATE', { productId: 0x0120 }));
      current = await startNodeOn(restartPort, {}, shared);
      await expect.poll(() => timed.filter((s) => s.state === 'online').length, { timeout: 5_000 }).toBe(2);

      const waits = timed.filter((s): s is Extract<DetectorState, { state: 'waiting' }> & { at: number } => s.state === 'waiting');
      waits.forEach((wait, index) => {
        expect(wait.attempt).toBe(index);
        const { min, max } = backoffBounds(wait.attempt, FAST.backoff!);
        expect(wait.delayMs).toBeGreaterThanOrEqual(min);
        expect(wait.delayMs).toBeLessThanOrEqual(max);
        // And it really waited that long before the next attempt.
        const next = timed.find((s) => s.at > wait.at && s.state === 'connecting');
        if (next) expect(next.at - wait.at).toBeGreaterThanOrEqual(wait.delayMs - 5);
      });
      expect(waits.at(-1)!.delayMs).toBeLessThanOrEqual(FAST.backoff!.maxMs);
      // On reconnect the full list went again, including the key plugged in meanwhile.
      await expect
        .poll(async () => (await owner.client.get<DetectorListResponse>('/api/detectors')).body.detectors[0]?.keys.map((k) => k.serialNumber).sort())
        .toEqual(['SN-LATE', 'SN-RESTART']);
      client.stop();
    } finally {
      await current?.close();
    }
  });
});

describe('TLS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'argus-detector-tls-'));
  const file = (name: string) => path.join(dir, name);
  let proxy: TlsServer;
  let proxyPort: number;
  const tunnels = new Set<{ destroy(): void }>();

  beforeAll(async () => {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    for (const ca of ['ca', 'wrong-ca']) {
      openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '1', '-subj', `/CN=Argus test ${ca}`);
    }
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext');
    // A TLS terminator in front of the node: the detector speaks wss:// to it.
    proxy = createTlsServer({ key: readFileSync(file('server.key')), cert: readFileSync(file('server.pem')) }, (tls) => {
      const upstream = connect(port, '127.0.0.1');
      tunnels.add(tls).add(upstream);
      tls.pipe(upstream).pipe(tls);
      tls.on('error', () => upstream.destroy());
      upstream.on('error', () => tls.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyPort = (proxy.address() as AddressInfo).port;
  });
  afterAll(() => {
    for (const tunnel of tunnels) tunnel.destroy();
    return new Promise<void>((resolve) => proxy.close(() => resolve()));
  });

  it('connects through a server certificate signed by the --ca file', async () => {
    const p = await person();
    const credentials = { ...(await paired(p)), server: `https://127.0.0.1:${proxyPort}` };
    await online(credentials, new FakeHidSource([fakeSecurityKey('SN-TLS')]), { ca: readFileSync(file('ca.pem')) });
    await expect.poll(async () => (await p.client.get<DetectorListResponse>('/api/detectors')).body.detectors[0]?.online).toBe(true);
  });

  it('refuses a server certificate the given CA did not sign (verification stays on)', async () => {
    const p = await person();
    const credentials = { ...(await paired(p)), server: `https://127.0.0.1:${proxyPort}` };
    const errors: Error[] = [];
    const states: DetectorState[] = [];
    const client = new DetectorClient({
      credentials,
      source: new FakeHidSource(),
      ca: readFileSync(file('wrong-ca.pem')),
      timings: FAST,
      onState: (s) => states.push(s),
      onError: (e) => errors.push(e),
    });
    running.push(client);
    await client.start();
    await expect.poll(() => states.filter((s) => s.state === 'waiting').length).toBeGreaterThanOrEqual(2);
    client.stop();
    expect(states.some((s) => s.state === 'online')).toBe(false);
    expect(errors.map((e) => (e as Error & { code?: string }).code ?? e.message)).toContain('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect((await p.client.get<DetectorListResponse>('/api/detectors')).body.detectors[0]?.lastSeenAt).toBeNull();
  });
});
