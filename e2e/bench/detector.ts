/**
 * `npm run bench:detector`: the fallback detector, on loopback.
 *
 * 1. Unplug-to-locked latency. A detector (the real client, polling a fake HID source every
 *    250 ms) is paired and online; its key's serial is bound to the user's credential by a
 *    real unlock. Each trial issues a grant to the signed-in session (directly: this measures
 *    revocation, not WebAuthn), unplugs the key, and times GRANT_REVOKED arriving at the
 *    session's WebSocket (a TestSocket, as the SPA's socket):
 *      (a) from the HID source reporting the removal (the first enumeration without the key);
 *      (b) from the unplug itself, which adds the wait for the next poll (0–250 ms).
 * 2. Enumeration cost and the CPU cost of the 250 ms polling loop over 30 s
 *    (process.cpuUsage), with the real node-hid if it loads here, else the fake source.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DetectorClient } from '../../client/detector/detectorClient.ts';
import { fakeSecurityKey, FakeHidSource, nodeHidSource, type HidSource } from '../../client/detector/hidSource.ts';
import { KeyWatcher } from '../../client/detector/keyWatcher.ts';
import { pair } from '../../client/detector/pair.ts';
import type { PairingCodeResponse } from '../../shared/detector.ts';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import { startArgus } from '../../server/runtime.ts';
import { freePort } from '../../server/test/env.ts';
import { TestSocket } from '../../server/test/wsClient.ts';
import { benchDatabase, enrollOverHttp } from './benchSetup.ts';

const TRIALS = Number(process.env.TRIALS ?? 200);
const POLL_MS = Number(process.env.POLL_MS ?? 250);
const CPU_SECONDS = Number(process.env.CPU_SECONDS ?? 30);

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return `p50 ${at(0.5).toFixed(2)} ms  p99 ${at(0.99).toFixed(2)} ms  max ${sorted.at(-1)!.toFixed(2)} ms  (n=${sorted.length})`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function unplugTrials(): Promise<void> {
  const database = await benchDatabase();
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const config = loadConfig(database.nodeEnv({ PORT: String(port), ARGUS_ORIGIN: origin, DETECTOR_CONNECTIONS_PER_MINUTE: '1000' }));
  const node = await startArgus(config, createLogger('silent'), { serveClient: false });
  let detector: DetectorClient | null = null;
  try {
    const user = await enrollOverHttp({ baseUrl: node.url, pool: node.deps.pool, config });
    const api = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
      const response = await fetch(node.url + route, {
        method,
        headers: { origin, cookie: user.cookie, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      if (response.status >= 300) throw new Error(`${route}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    };
    const keyId = (await api<{ keys: Array<{ id: string }> }>('GET', '/api/account/keys')).keys[0]!.id;
    const { code } = await api<PairingCodeResponse>('POST', '/api/detectors/pairing-codes', {});
    const { credentials } = await pair({ code, server: origin, configDir: path.join(mkdtempSync(path.join(tmpdir(), 'argus-bench-')), 'argus-detector') });

    const key = fakeSecurityKey('BENCH-SERIAL');
    const source = new FakeHidSource([key]);
    let online = false;
    detector = new DetectorClient({ credentials, source, timings: { pollMs: POLL_MS }, onState: (s) => (online ||= s.state === 'online') });
    await detector.start();
    const socket = await TestSocket.open(node.url, { origin, cookie: user.cookie });
    while (!online) await sleep(10);
    const seesKey = async () => {
      for (;;) {
        const status = await socket.next('DETECTOR_STATUS', 5_000);
        if (status.keys.length === 1) return;
      }
    };
    await sleep(POLL_MS * 2);

    // One real unlock binds the serial the detector sees to the credential.
    const { options } = await api<{ options: { challenge: string } }>('POST', '/api/verify-key-ownership/options', {});
    await api('POST', '/api/verify-key-ownership', { response: user.authenticator.assert(options), presenceMode: 'detector' });
    await api('DELETE', '/api/grants/current', { reason: 'locked_by_user' }).catch(() => undefined);
    await sleep(100);
    const sessionId = decodeURIComponent(user.cookie.split('=')[1]!).slice(2).split('.')[0]!;

    const fromReport: number[] = [];
    const fromUnplug: number[] = [];
    for (let i = 0; i < TRIALS; i += 1) {
      const now = Date.now();
      await node.deps.grants.issue({ id: randomUUID(), userId: user.userId, username: user.username, sessionId, keyId, keyNickname: 'k', models: ['demo-restricted'], issuedAt: now, expiresAt: now + 300_000, presenceMode: 'detector', device: null });
      await socket.next('MODELS_UNLOCKED', 50).catch(() => undefined);
      socket.events.length = 0;
      const arrived = (async () => {
        for (;;) if ((await socket.next('GRANT_REVOKED', 5_000)).reason === 'key_removed') return performance.now();
      })();
      source.unplug(key);
      const unpluggedAt = performance.now();
      const arrivedAt = await arrived;
      fromReport.push(arrivedAt - source.changeSeenAt!);
      fromUnplug.push(arrivedAt - unpluggedAt);
      socket.events.length = 0;
      source.plug(key);
      await seesKey();
    }
    socket.close();
    console.log(`\nUnplug → GRANT_REVOKED at the session's WebSocket, ${TRIALS} trials, polling every ${POLL_MS} ms:`);
    console.log(`  (a) from the HID source reporting the removal  ${stats(fromReport)}`);
    console.log(`  (b) from the unplug (adds the poll wait)        ${stats(fromUnplug)}`);
  } finally {
    detector?.stop();
    await node.close();
    await database.drop();
  }
}

async function pollingCost(): Promise<void> {
  let source: HidSource;
  let which: string;
  try {
    source = await nodeHidSource();
    const count = (await source.list()).length;
    which = `${source.name}, real enumeration (${count} HID interface${count === 1 ? '' : 's'} present on this machine)`;
  } catch (error) {
    source = new FakeHidSource([fakeSecurityKey('CPU-1')]);
    which = `fake source (node-hid unavailable: ${(error as Error).message.slice(0, 80)})`;
  }
  const enumerations: number[] = [];
  for (let i = 0; i < 500; i += 1) {
    const t = performance.now();
    await source.list();
    enumerations.push(performance.now() - t);
  }
  console.log(`\nEnumeration with ${which}:`);
  console.log(`  one list() call, 500 sequential: ${stats(enumerations)}`);

  const measure = async (seconds: number, run: () => () => void) => {
    const before = process.cpuUsage();
    const started = performance.now();
    const stop = run();
    await sleep(seconds * 1000);
    stop();
    const used = process.cpuUsage(before);
    const elapsed = performance.now() - started;
    return { cpuMs: (used.user + used.system) / 1000, elapsed };
  };
  const idle = await measure(Math.min(10, CPU_SECONDS), () => () => undefined);
  const polling = await measure(CPU_SECONDS, () => {
    const watcher = new KeyWatcher(source, () => undefined, POLL_MS);
    void watcher.start();
    return () => watcher.stop();
  });
  const idlePerSecond = idle.cpuMs / (idle.elapsed / 1000);
  const pollPerSecond = polling.cpuMs / (polling.elapsed / 1000);
  console.log(`Polling loop every ${POLL_MS} ms for ${CPU_SECONDS} s: ${polling.cpuMs.toFixed(0)} ms CPU = ${(pollPerSecond / 10).toFixed(3)} % of one core`);
  console.log(`  (idle process baseline ${(idlePerSecond / 10).toFixed(3)} %; loop alone ≈ ${((pollPerSecond - idlePerSecond) / 10).toFixed(3)} % of one core)`);
}

await unplugTrials();
await pollingCost();
process.exit(0);
