import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { DETECTOR_CLOSE, DETECTOR_PATH, DETECTOR_PROTOCOL, type PairDetectorResponse, type PairingCodeResponse } from '../../shared/detector.ts';
import { WS_CLOSE } from '../../shared/events.ts';
import { WS_LIMITS } from '../realtime/hub.ts';
import { enrollUser, startTestNode, TEST_ORIGIN, type TestNode } from '../test/harness.ts';
import { fitted, fuzzRuns, hostileJson, hostileRawBody, hostileString, shapedObject } from './arbitraries.ts';
import { leakIn, liftRateLimits, settledSnapshot, snapshotData, watchErrorLogs, type DataSnapshot } from './invariants.ts';

/**
 * Property-based fuzzing of both WebSocket endpoints: every message type of the browser
 * socket (/ws) and of the detector protocol (/ws/detector, shared/detector.ts), valid and
 * hostile, plus hostile handshakes. A bad frame may only close its own connection with a
 * documented close code; the node stays healthy, logs no error, and a rejected message
 * changes no stored data.
 */

const RUNS = fuzzRuns(60);

let node: TestNode;
let watcher: Awaited<ReturnType<typeof enrollUser>>;
let detector: PairDetectorResponse;
let watch: ReturnType<typeof watchErrorLogs>;
let lastGood: DataSnapshot;
const started = Date.now();

beforeAll(async () => {
  node = await startTestNode({
    SIGNIN_RATE_PER_MINUTE: '10000',
    DETECTOR_PAIRINGS_PER_HOUR: '100000',
    DETECTOR_CONNECTIONS_PER_MINUTE_PER_IP: '100000',
    DETECTOR_CONNECTIONS_PER_MINUTE: '100000',
  });
  watcher = await enrollUser(node, { username: 'fuzz-watcher', role: 'admin' });
  const { code } = (await watcher.client.post<PairingCodeResponse>('/api/detectors/pairing-codes')).body;
  detector = (await node.client().post<PairDetectorResponse>('/api/detectors/pair', { code, name: 'fuzz detector' })).body;
  watch = watchErrorLogs(node);
});
afterAll(async () => {
  watch?.stop();
  console.info(`WebSocket fuzz: ${RUNS} runs per property in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await node?.destroy();
});

const wsUrl = (path: string) => `${node.url.replace(/^http/, 'ws')}${path}`;

/** A socket that tells, after each frame, whether the server kept it open or closed it (and how). */
class ProbedSocket {
  closed: { code: number; reason: string } | null = null;
  private constructor(readonly socket: WebSocket) {
    socket.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
    socket.on('error', () => undefined);
  }

  static open(url: string, protocols: string[], headers: Record<string, string>): Promise<ProbedSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, protocols, { headers });
      socket.once('open', () => resolve(new ProbedSocket(socket)));
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      socket.once('error', reject);
    });
  }

  /**
   * Sends a frame, then a protocol-level ping: frames are handled in order, so a pong means
   * the frame was accepted and a close means it was refused.
   */
  async send(frame: string | Buffer): Promise<{ code: number; reason: string } | null> {
    if (this.closed) return this.closed;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('neither pong nor close within 5 s')), 5_000);
      const done = (value: { code: number; reason: string } | null) => {
        clearTimeout(timer);
        this.socket.off('pong', onPong);
        this.socket.off('close', onClose);
        resolve(value);
      };
      const onPong = () => done(null);
      const onClose = (code: number, reason: Buffer) => done({ code, reason: String(reason) });
      this.socket.on('pong', onPong);
      this.socket.on('close', onClose);
      this.socket.send(frame, () => this.socket.readyState === WebSocket.OPEN && this.socket.ping());
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** A frame as the fuzzer sends it: text (JSON or not) or binary. */
const binaryFrame = fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes));

function frames(validMessages: fc.Arbitrary<unknown>, fields: string[], types: string[]): fc.Arbitrary<string | Buffer> {
  return fc.oneof(
    { weight: 3, arbitrary: validMessages.map((message) => JSON.stringify(message)) },
    {
      weight: 3,
      arbitrary: fc.tuple(shapedObject(fields), fc.constantFrom(...types)).map(([shaped, type]) => JSON.stringify({ ...shaped, type })),
    },
    { weight: 2, arbitrary: hostileJson.map((value) => JSON.stringify(value) ?? 'null') },
    { weight: 2, arbitrary: hostileRawBody },
    { weight: 1, arbitrary: binaryFrame },
  );
}

async function checkHealthy(errorsBefore: number, warningsBefore: number): Promise<void> {
  expect((await node.client().get('/healthz')).status).toBe(200);
  expect(watch.errors.slice(errorsBefore), 'errors logged while fuzzing').toEqual([]);
  expect(watch.warnings.slice(warningsBefore).filter((warning) => /failed|not recorded/.test(warning)), 'handler failures logged as warnings').toEqual([]);
}

describe('browser socket (/ws)', () => {
  const open = async () => {
    await liftRateLimits(node);
    return ProbedSocket.open(wsUrl('/ws'), [], { origin: TEST_ORIGIN, cookie: watcher.client.cookie! });
  };

  it('closes on any frame but a ping, with POLICY or TOO_BIG, and nothing stored changes', async () => {
    const errorsBefore = watch.errors.length;
    const warningsBefore = watch.warnings.length;
    const browserTypes = ['ping', 'PING', 'pong', 'hello', 'SECURITY_EVENT', 'MODELS_UNLOCKED', 'GRANT_REVOKED', 'subscribe', '__proto__'];
    const pings = fc.constantFrom({ type: 'ping' }, { type: 'ping', at: Date.now() }, { type: 'ping', __proto__: { type: 'x' } });
    const oversize = fc.constant('x'.repeat(WS_LIMITS.maxFrameBytes + 1));
    let socket = await open();
    lastGood = await settledSnapshot(node);
    const closes = new Set<number>();
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 9, arbitrary: frames(pings, ['type', 'at', 'id', 'sessionId'], browserTypes) }, { weight: 1, arbitrary: oversize }), async (frame) => {
        if (socket.closed) socket = await open();
        const closed = await socket.send(frame);
        if (closed) {
          closes.add(closed.code);
          expect([WS_CLOSE.POLICY, WS_CLOSE.TOO_BIG], `close ${closed.code} ${closed.reason} after ${String(frame).slice(0, 200)}`).toContain(closed.code);
          expect(leakIn(closed.reason)).toBeNull();
        }
        expect(await snapshotData(node)).toEqual(lastGood);
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    socket.close();
    expect(closes.size, 'the fuzz reached the refusals').toBeGreaterThan(0);
    await checkHealthy(errorsBefore, warningsBefore);
  }, 120_000);
});

describe('detector socket (/ws/detector)', () => {
  const open = async () => {
    const socket = await ProbedSocket.open(wsUrl(DETECTOR_PATH), [DETECTOR_PROTOCOL, `${detector.keyId}.${detector.secret}`], {});
    // Connecting records presence and a last-seen time; wait for that before comparing.
    lastGood = await settledSnapshot(node);
    return socket;
  };

  const keyField = (arb: fc.Arbitrary<unknown>) => fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: hostileJson });
  const detectedKey = fc.record({
    vendorId: keyField(fc.integer({ min: 0, max: 0xffff })),
    productId: keyField(fc.integer({ min: 0, max: 0xffff })),
    product: keyField(fc.option(fitted(0, 128))),
    manufacturer: keyField(fc.option(fitted(0, 128))),
    serialNumber: keyField(fc.option(fitted(1, 128))),
  });
  const protocolMessages = fc.oneof(
    fc.record({ type: fc.constant('hello'), keys: fc.array(detectedKey, { maxLength: 3 }) }),
    fc.record({ type: fc.constantFrom('attach', 'detach'), key: detectedKey }),
    fc.record({
      type: fc.constant('heartbeat'),
      detectorId: fc.oneof(fc.constant('self'), fc.uuid().map(String), hostileString),
      at: fc.oneof(fc.constant('now'), hostileString),
      memoryBytes: fc.oneof(fc.nat(), hostileJson),
    }),
  ).map((message) => {
    const withIds = message as Record<string, unknown>;
    if (withIds.detectorId === 'self') withIds.detectorId = detector.detectorId;
    if (withIds.at === 'now') withIds.at = new Date().toISOString();
    return withIds;
  });
  const detectorTypes = ['hello', 'attach', 'detach', 'heartbeat', 'welcome', 'grant', 'HELLO', '__proto__', ''];
  const allowedCloses: number[] = [DETECTOR_CLOSE.TOO_BIG, DETECTOR_CLOSE.MALFORMED, DETECTOR_CLOSE.UNEXPECTED, DETECTOR_CLOSE.TOO_MANY_MESSAGES];

  it('answers every message type, valid or hostile, with a protocol close code at worst; a refused one changes nothing stored', async () => {
    const errorsBefore = watch.errors.length;
    const warningsBefore = watch.warnings.length;
    let socket = await open();
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(frames(protocolMessages, ['type', 'keys', 'key', 'detectorId', 'at', 'memoryBytes'], detectorTypes), async (frame) => {
        if (socket.closed) socket = await open();
        const closed = await socket.send(frame);
        outcomes.add(closed ? String(closed.code) : 'open');
        if (closed) {
          expect(allowedCloses, `close ${closed.code} ${closed.reason} after ${String(frame).slice(0, 200)}`).toContain(closed.code);
          expect(leakIn(closed.reason)).toBeNull();
          // A refused message changes nothing (the disconnect's own bookkeeping aside).
          expect(await settledSnapshot(node), `stored data changed by a refused frame: ${String(frame).slice(0, 200)}`).toEqual(lastGood);
        } else {
          lastGood = await settledSnapshot(node);
        }
      }),
      {
        numRuns: RUNS,
        endOnFailure: true,
        // Valid frames are a few percent of the random ones, so a run could draw none: these two always go first.
        examples: [[JSON.stringify({ type: 'hello', keys: [] })], [JSON.stringify({ type: 'heartbeat', detectorId: detector.detectorId, at: new Date().toISOString(), memoryBytes: 1_000_000 })]],
      },
    );
    socket.close();
    expect(outcomes.has('open'), `outcomes: ${[...outcomes].join(', ')}`).toBe(true);
    expect(outcomes.size, `outcomes: ${[...outcomes].join(', ')}`).toBeGreaterThan(1);
    await checkHealthy(errorsBefore, warningsBefore);
  }, 120_000);
});

describe('handshakes', () => {
  /** A raw upgrade request with whatever headers the fuzzer chose: 101 or a 4xx, never a 5xx. */
  function upgrade(path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const { hostname, port } = new URL(node.url);
      const req = httpRequest({
        hostname,
        port,
        path,
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), ...headers },
      });
      req.on('upgrade', (_res, socket) => {
        socket.destroy();
        resolve({ status: 101, body: '' });
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (chunk) => (body += String(chunk)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  const token = fc.oneof(
    fc.constant('valid'),
    fc.string({ unit: 'binary-ascii', maxLength: 80 }),
    fc.constantFrom('', '.', 'a.b', `${'A'.repeat(22)}.${'B'.repeat(43)}`, 'x'.repeat(8_000), '__proto__.constructor'),
  );
  const headerText = (value: string) => value.replace(/[^\x20-\x7e]/g, '');

  it('refuses hostile detector handshakes with a 4xx, and accepts the real key', async () => {
    const errorsBefore = watch.errors.length;
    const warningsBefore = watch.warnings.length;
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          protocols: fc.array(fc.oneof(fc.constant(DETECTOR_PROTOCOL), token), { maxLength: 3 }),
          origin: fc.option(fc.constantFrom(TEST_ORIGIN, 'http://evil.test', 'null', '')),
        }),
        async ({ protocols, origin }) => {
          await liftRateLimits(node);
          const offered = protocols.map((p) => (p === 'valid' ? `${detector.keyId}.${detector.secret}` : headerText(p)));
          const response = await upgrade(DETECTOR_PATH, { 'sec-websocket-protocol': offered.join(', '), ...(origin !== null ? { origin } : {}) });
          statuses.add(response.status);
          expect(response.status, `${offered.join(', ').slice(0, 200)} → ${response.status} ${response.body.slice(0, 200)}`).toBeLessThan(500);
          expect(leakIn(response.body)).toBeNull();
        },
      ),
      { numRuns: Math.ceil(RUNS / 2), endOnFailure: true },
    );
    expect([...statuses].some((status) => status >= 400)).toBe(true);
    await checkHealthy(errorsBefore, warningsBefore);
  }, 120_000);

  it('refuses hostile browser handshakes with a 4xx', async () => {
    const errorsBefore = watch.errors.length;
    const warningsBefore = watch.warnings.length;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          cookie: fc.oneof(fc.constant('real'), fc.string({ unit: 'binary-ascii', maxLength: 100 }), fc.constantFrom('argus.sid=s%3Afake.sig', 'argus.sid=%', `argus.sid=${'z'.repeat(6_000)}`)),
          origin: fc.option(fc.constantFrom(TEST_ORIGIN, 'http://evil.test', 'null', '')),
          protocol: fc.option(token.map(headerText)),
        }),
        async ({ cookie, origin, protocol }) => {
          await liftRateLimits(node);
          const headers: Record<string, string> = { cookie: cookie === 'real' ? watcher.client.cookie! : headerText(cookie) };
          if (origin !== null) headers.origin = origin;
          if (protocol) headers['sec-websocket-protocol'] = protocol;
          const response = await upgrade('/ws', headers);
          expect(response.status, `${JSON.stringify(headers).slice(0, 300)} → ${response.status} ${response.body.slice(0, 200)}`).toBeLessThan(500);
          expect(leakIn(response.body)).toBeNull();
        },
      ),
      { numRuns: Math.ceil(RUNS / 2), endOnFailure: true },
    );
    await checkHealthy(errorsBefore, warningsBefore);
  }, 120_000);
});
