import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { RateLimiterRes, type RateLimiterRedis } from 'rate-limiter-flexible';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../log.ts';
import { rateLimitHits, wsMessages } from '../metrics.ts';
import type { MessageBudget } from './messageBudget.ts';
import { refuseUpgrade, UpgradeRefused } from './upgradeRefusal.ts';

/**
 * What both WebSocket endpoints (browsers at /ws, detectors at /ws/detector) do alike:
 * accepting upgrades, limiting connection and message rates, reading JSON frames, dropping
 * dead peers and closing for shutdown. Each hub keeps its own close codes and limits.
 */

/** An endpoint's path, as refusals and metrics name it. */
export type SocketRoute = '/ws' | '/ws/detector';

/** One open connection as the shared parts see it. */
export interface LiveSocket {
  socket: WebSocket;
  /** Answered the last ping (or has not been pinged yet). */
  alive: boolean;
}

/** Counts one connection attempt against `limiter`; refuses the upgrade when over it or when Redis cannot tell. */
export async function takeConnection(limiter: RateLimiterRedis, key: string, what: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      throw new UpgradeRefused(429, 'RATE_LIMITED', `Too many connections ${what}.`, Math.ceil(rejection.msBeforeNext / 1000));
    }
    throw new UpgradeRefused(503, 'SERVICE_UNAVAILABLE', 'Cannot check connection limits right now.');
  }
}

export interface UpgradeHandling<Peer> {
  route: SocketRoute;
  wss: WebSocketServer;
  log: Logger;
  /** Throws UpgradeRefused to answer with an HTTP error instead of a WebSocket. */
  authenticate(req: IncomingMessage): Promise<Peer>;
  opened(socket: WebSocket, peer: Peer): void;
  /** The answer to an unexpected failure, and the line it is logged with. */
  unexpected: { status: number; code: string; logMessage: string };
}

/** Answers upgrades on `route` only: authenticated ones become WebSockets, the rest get an HTTP error. */
export function acceptUpgrades<Peer>(server: Server, { route, wss, log, authenticate, opened, unexpected }: UpgradeHandling<Peer>): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== route) return; // Other upgrade paths have their own handlers.
    socket.on('error', () => undefined);
    authenticate(req).then(
      (peer) => wss.handleUpgrade(req, socket, head, (ws) => opened(ws, peer)),
      (error: unknown) => {
        if (error instanceof UpgradeRefused) return refuseUpgrade(socket, error, route);
        log.error({ err: error }, unexpected.logMessage);
        refuseUpgrade(socket, new UpgradeRefused(unexpected.status, unexpected.code, 'Could not open the connection.'), route);
      },
    );
  });
}

export interface MessageGate {
  kind: 'browser' | 'detector';
  route: SocketRoute;
  /** The close code for a connection that overdraws its message budget. */
  closeCode: number;
}

/** Counts an incoming message and spends one from the budget; false (and the socket closing) when it is overdrawn. */
export function admitMessage(connection: { socket: WebSocket; budget: MessageBudget }, { kind, route, closeCode }: MessageGate): boolean {
  wsMessages.inc({ kind, direction: 'in' });
  if (connection.budget.take()) return true;
  rateLimitHits.inc({ limiter: 'WS_MESSAGES', route });
  connection.socket.close(closeCode, 'too many messages');
  return false;
}

/** A text frame's JSON; undefined for a binary frame or text that is not JSON. */
export function parseTextFrame(data: RawData, isBinary: boolean): unknown {
  if (isBinary) return undefined;
  try {
    return JSON.parse(String(data));
  } catch {
    return undefined;
  }
}

/**
 * Pings every connection each interval and terminates one that did not answer the previous
 * ping (`dropped` is told). The pong handler must set `alive`. Returns the stop function.
 */
export function startHeartbeat<Connection extends LiveSocket>(
  connections: () => Iterable<Connection>,
  intervalMs: number,
  dropped: (connection: Connection) => void = () => undefined,
): () => void {
  const timer = setInterval(() => {
    for (const connection of connections()) {
      if (!connection.alive) {
        connection.socket.terminate();
        dropped(connection);
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Closes every connection with `code` and stops accepting new ones. */
export function closeForShutdown(wss: WebSocketServer, connections: Iterable<LiveSocket>, code: number): void {
  for (const { socket } of connections) {
    socket.close(code, 'server shutting down');
    // A peer that never answers the close frame must not hold the shutdown for ws's 30 s.
    setTimeout(() => socket.terminate(), 1_000).unref();
  }
  wss.close();
}
