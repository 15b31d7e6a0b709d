import { WebSocket } from 'ws';
import {
  DETECTOR_FINAL_CLOSE_CODES,
  DETECTOR_PATH,
  DETECTOR_PROTOCOL,
  type DetectorMessage,
  type DetectorServerMessage,
} from '../../shared/detector.ts';
import { backoffDelay, type BackoffPolicy } from '../lib/backoff.ts';
import type { DetectorCredentials } from './credentials.ts';
import type { HidSource } from './hidSource.ts';
import { KeyWatcher, type KeyChange } from './keyWatcher.ts';

export interface DetectorTimings {
  backoff: BackoffPolicy;
  /** Application heartbeat (docs/architecture.md: 60 s). */
  heartbeatMs: number;
  /** WebSocket ping; no pong by the next ping drops the connection (docs/architecture.md: 30 s). */
  pingMs: number;
  /** HID polling interval (default 250 ms). */
  pollMs: number;
}

/** Reconnect timings (docs/architecture.md: 5 s start, ×2, 60 s cap, ±30 % jitter). */
export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 5_000, factor: 2, maxMs: 60_000, jitter: 0.3 };

export const DEFAULT_TIMINGS: DetectorTimings = { backoff: DEFAULT_BACKOFF, heartbeatMs: 60_000, pingMs: 30_000, pollMs: 250 };

export type DetectorState =
  | { state: 'connecting'; attempt: number }
  | { state: 'online'; detectorId: string }
  | { state: 'waiting'; attempt: number; delayMs: number; reason: string }
  /** Final: revoked or not paired any more; pair again. */
  | { state: 'stopped'; reason: string };

export interface DetectorClientOptions {
  credentials: DetectorCredentials;
  source: HidSource;
  /** PEM CA certificates to trust (--ca); the system's otherwise. TLS is always verified. */
  ca?: Buffer | undefined;
  timings?: Partial<DetectorTimings>;
  random?: () => number;
  onState?: (state: DetectorState) => void;
  onChange?: (change: KeyChange) => void;
  onError?: (error: Error) => void;
}

/** The WebSocket URL of a server origin: wss:// for https://. */
export function detectorUrl(server: string): string {
  const url = new URL(DETECTOR_PATH, server);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/**
 * The running detector: watches FIDO keys and keeps one WebSocket to the server, sending the
 * full list of keys on every (re)connect and then each attach and detach. Reconnects with
 * exponential backoff and jitter; stops for good when the server says it was revoked or
 * refuses its key.
 */
export class DetectorClient {
  private readonly timings: DetectorTimings;
  private readonly watcher: KeyWatcher;
  private socket: WebSocket | null = null;
  private greeted = false;
  private attempt = 0;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private pinger: NodeJS.Timeout | null = null;

  constructor(private readonly options: DetectorClientOptions) {
    this.timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.watcher = new KeyWatcher(options.source, (change) => this.onKeyChange(change), this.timings.pollMs, (error) => options.onError?.(error));
  }

  keys() {
    return this.watcher.keys();
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.watcher.start();
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.watcher.stop();
    if (this.retry) clearTimeout(this.retry);
    this.clearTimers();
    this.socket?.close(1000, 'detector stopping');
    this.socket = null;
  }

  private emit(state: DetectorState) {
    this.options.onState?.(state);
  }

  private send(message: DetectorMessage) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private onKeyChange(change: KeyChange) {
    this.options.onChange?.(change);
    // Before the hello, the hello itself will carry the full list.
    if (this.greeted) this.send({ type: change.type, key: change.key });
  }

  private clearTimers() {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.pinger) clearInterval(this.pinger);
    this.heartbeat = this.pinger = null;
  }

  private connect() {
    if (this.stopped) return;
    this.emit({ state: 'connecting', attempt: this.attempt });
    const { credentials, ca } = this.options;
    // The device key travels as the second subprotocol: never in the URL, where logs keep it.
    const socket = new WebSocket(detectorUrl(credentials.server), [DETECTOR_PROTOCOL, `${credentials.keyId}.${credentials.secret}`], {
      ca,
      rejectUnauthorized: true,
      handshakeTimeout: 15_000,
      headers: { 'user-agent': 'argus-detector' },
    });
    this.socket = socket;
    let finalReason: string | null = null;
    let alive = true;

    socket.on('unexpected-response', (_request, response) => {
      // 401: the key is unknown or revoked; retrying cannot help. Anything else may pass.
      if (response.statusCode === 401) finalReason = 'the server refused this detector\u2019s key (revoked or not paired); pair it again';
      socket.terminate();
      if (!finalReason) this.scheduleReconnect(`the server answered ${response.statusCode}`);
      else this.finish(finalReason);
    });
    socket.on('open', () => {
      if (socket.protocol !== DETECTOR_PROTOCOL) {
        socket.close(1002, 'protocol not agreed');
        return;
      }
      this.greeted = true;
      this.send({ type: 'hello', keys: this.watcher.keys() });
      this.pinger = setInterval(() => {
        if (!alive) return socket.terminate();
        alive = false;
        socket.ping();
      }, this.timings.pingMs);
    });
    socket.on('pong', () => (alive = true));
    socket.on('message', (data) => {
      let message: DetectorServerMessage;
      try {
        message = JSON.parse(String(data)) as DetectorServerMessage;
      } catch {
        return;
      }
      if (message.type !== 'welcome') return;
      this.attempt = 0;
      this.emit({ state: 'online', detectorId: message.detectorId });
      if (this.heartbeat) clearInterval(this.heartbeat);
      // The server says how often it wants a heartbeat, unless a test set it.
      const heartbeatMs = this.options.timings?.heartbeatMs ?? (message.heartbeatSeconds > 0 ? message.heartbeatSeconds * 1000 : this.timings.heartbeatMs);
      this.heartbeat = setInterval(
        () => this.send({ type: 'heartbeat', detectorId: credentials.detectorId, at: new Date().toISOString(), memoryBytes: process.memoryUsage().rss }),
        heartbeatMs,
      );
    });
    socket.on('error', (error) => this.options.onError?.(error));
    socket.on('close', (code, reason) => {
      if (this.socket !== socket) return;
      this.greeted = false;
      this.clearTimers();
      if (DETECTOR_FINAL_CLOSE_CODES.includes(code)) return this.finish(`closed by the server: ${String(reason) || code}`);
      if (finalReason) return;
      this.scheduleReconnect(`connection closed (${code}${reason.length ? ` ${String(reason)}` : ''})`);
    });
  }

  private finish(reason: string) {
    this.stop();
    this.emit({ state: 'stopped', reason });
  }

  private scheduleReconnect(reason: string) {
    if (this.stopped || this.retry) return;
    this.socket = null;
    const delayMs = backoffDelay(this.attempt, { ...this.timings.backoff, random: this.options.random });
    this.emit({ state: 'waiting', attempt: this.attempt, delayMs, reason });
    this.attempt += 1;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect();
    }, delayMs);
  }
}
