import { WebSocket } from 'ws';
import type { ServerEvent } from '../../shared/events.ts';

/** A WebSocket to /ws as a browser would open it (cookie and Origin), collecting events. */
export class TestSocket {
  readonly events: ServerEvent[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.events.push(JSON.parse(String(data)) as ServerEvent);
      this.wake();
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.wake();
    });
  }

  private wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Opens a socket; resolves with it, or rejects with the HTTP status of a refused upgrade. */
  static open(
    baseUrl: string,
    { cookie, origin, ca, localAddress }: { cookie?: string | null; origin: string; /** For wss:// through a test proxy. */ ca?: string; localAddress?: string },
  ): Promise<TestSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws`, { headers: { origin, ...(cookie ? { cookie } : {}) }, ca, localAddress });
      socket.once('open', () => resolve(new TestSocket(socket)));
      socket.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
      socket.once('error', reject);
    });
  }

  /** Waits for an event of a type (already received or to come). */
  async next<T extends ServerEvent['type']>(type: T, timeoutMs = 3_000): Promise<Extract<ServerEvent, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => e.type === type);
      if (found) {
        this.events.splice(this.events.indexOf(found), 1);
        return found as Extract<ServerEvent, { type: T }>;
      }
      if (Date.now() > deadline) throw new Error(`no ${type} event within ${timeoutMs} ms (got ${this.events.map((e) => e.type).join(', ') || 'nothing'})`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  async closedWith(timeoutMs = 3_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('socket not closed');
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closed;
  }

  close() {
    this.socket.close();
  }
}
