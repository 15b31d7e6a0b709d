import type { IncomingMessage, Server } from 'node:http';
import { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Role } from '../../shared/api.ts';
import { WS_CLOSE, type ServerEvent } from '../../shared/events.ts';
import { getUserById } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import type { Envelope } from './bus.ts';
import { rateLimitHits, wsConnectionsActive, wsConnectionsTotal, wsMessages } from '../metrics.ts';
import { clientAddress, trustProxyFn } from '../http/clientAddress.ts';
import { refuseUpgrade, UpgradeRefused } from './upgradeRefusal.ts';
import { MessageBudget } from './messageBudget.ts';

export type SessionParser = RequestHandler;

/** Limits from the seed design (Unhidra). */
export const WS_LIMITS = {
  connectionsPerMinutePerIp: 60,
  connectionsPerMinutePerUser: 30,
  messagesPerSecond: 50,
  maxFrameBytes: 4 * 1024,
} as const;

interface Connection {
  socket: WebSocket;
  userId: string;
  sessionId: string;
  role: Role;
  alive: boolean;
  /** Token bucket for the per-connection message rate. */
  budget: MessageBudget;
}

export interface Hub {
  /** Live browser connections on this node. */
  count(): number;
  /** Sends to this node's matching sockets only (for events every node learns by itself). */
  deliverLocal(target: Envelope['target'], event: ServerEvent): void;
  close(): void;
}


/**
 * The WebSocket hub at /ws: authenticated from the session cookie during the upgrade (the
 * same express-session parser as the API), Origin checked, connection rates limited per IP
 * and per user, frames bounded, messages rate-limited, dead peers dropped by ping/pong.
 * It delivers bus events to the sockets they target, on whichever node holds them.
 */
export function attachHub(server: Server, deps: Deps, sessionParser: SessionParser): Hub {
  const { config, redis, bus, log, pool } = deps;
  const trustProxy = trustProxyFn(config.trustProxy);
  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_LIMITS.maxFrameBytes });
  const connections = new Set<Connection>();
  const perIp = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'rl:ws-ip', points: WS_LIMITS.connectionsPerMinutePerIp, duration: 60 });
  const perUser = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'rl:ws-user', points: WS_LIMITS.connectionsPerMinutePerUser, duration: 60 });

  const limit = async (limiter: RateLimiterRedis, key: string, what: string) => {
    try {
      await limiter.consume(key);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        throw new UpgradeRefused(429, 'RATE_LIMITED', `Too many connections ${what}.`, Math.ceil(rejection.msBeforeNext / 1000));
      }
      throw new UpgradeRefused(503, 'SERVICE_UNAVAILABLE', 'Cannot check connection limits right now.');
    }
  };

  async function authenticate(req: IncomingMessage): Promise<{ userId: string; sessionId: string; role: Role }> {
    // Cross-site WebSocket hijacking: browsers send Origin on upgrades; it must be ours.
    if (req.headers.origin !== config.origin) throw new UpgradeRefused(403, 'CSRF_REJECTED', 'Cross-origin WebSocket refused.');
    await limit(perIp, clientAddress(req, trustProxy), 'from this address');
    const request = req as IncomingMessage & { session?: { userId?: string; stage?: string }; sessionID?: string };
    await new Promise<void>((resolve, reject) =>
      sessionParser(request as never, new ServerResponse(req) as never, (error?: unknown) => (error ? reject(error) : resolve())),
    ).catch(() => {
      throw new UpgradeRefused(503, 'SERVICE_UNAVAILABLE', 'Sessions are unavailable right now.');
    });
    const { session, sessionID } = request;
    if (!session?.userId || session.stage !== 'full' || !sessionID) throw new UpgradeRefused(401, 'UNAUTHENTICATED', 'Sign in first.');
    const user = await getUserById(pool, session.userId);
    if (!user || user.status !== 'active') throw new UpgradeRefused(401, 'SESSION_ENDED', 'Your session has ended.');
    await limit(perUser, user.id, 'for this user');
    return { userId: user.id, sessionId: sessionID, role: user.role };
  }

  function onMessage(connection: Connection, data: unknown, isBinary: boolean): void {
    wsMessages.inc({ kind: 'browser', direction: 'in' });
    if (!connection.budget.take()) {
      rateLimitHits.inc({ limiter: 'WS_MESSAGES', route: '/ws' });
      return connection.socket.close(WS_CLOSE.POLICY, 'too many messages');
    }
    let message: unknown;
    try {
      message = isBinary ? null : JSON.parse(String(data));
    } catch {
      message = null;
    }
    // The browser has nothing to tell us but pings: presence reports go over HTTP, where they can only end a grant.
    if (typeof message !== 'object' || message === null || (message as { type?: unknown }).type !== 'ping') {
      connection.socket.close(WS_CLOSE.POLICY, 'unexpected message');
    }
  }

  const forget = (connection: Connection) => {
    if (connections.delete(connection)) wsConnectionsActive.dec({ kind: 'browser' });
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/ws') return; // Other upgrade paths (the detector) have their own handlers.
    socket.on('error', () => undefined);
    authenticate(req).then(
      (who) => {
        wss.handleUpgrade(req, socket, head, (ws) => {
          const connection: Connection = { socket: ws, ...who, alive: true, budget: new MessageBudget(WS_LIMITS.messagesPerSecond) };
          connections.add(connection);
          wsConnectionsTotal.inc({ kind: 'browser' });
          wsConnectionsActive.inc({ kind: 'browser' });
          ws.on('pong', () => (connection.alive = true));
          ws.on('message', (data, isBinary) => onMessage(connection, data, isBinary));
          ws.on('close', () => forget(connection));
          ws.on('error', () => forget(connection));
        });
      },
      (error: unknown) => {
        if (error instanceof UpgradeRefused) return refuseUpgrade(socket, error, '/ws');
        log.error({ err: error }, 'websocket upgrade failed');
        refuseUpgrade(socket, new UpgradeRefused(500, 'INTERNAL', 'Could not open the connection.'), '/ws');
      },
    );
  });

  const heartbeat = setInterval(() => {
    for (const connection of connections) {
      if (!connection.alive) {
        connection.socket.terminate();
        forget(connection);
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }, config.wsHeartbeatSeconds * 1000);
  heartbeat.unref();

  const matches = (connection: Connection, target: Envelope['target']): boolean =>
    'userId' in target ? connection.userId === target.userId : 'sessionId' in target ? connection.sessionId === target.sessionId : target.roles.includes(connection.role);

  const deliver = (target: Envelope['target'], event: ServerEvent) => {
    const json = JSON.stringify(event);
    for (const connection of connections) {
      if (!matches(connection, target)) continue;
      connection.socket.send(json);
      wsMessages.inc({ kind: 'browser', direction: 'out' });
      if (event.type === 'SESSION_ENDED') connection.socket.close(WS_CLOSE.SESSION_ENDED, 'session ended');
    }
  };
  const unsubscribe = bus.on((envelope) => deliver(envelope.target, envelope.event));

  return {
    count: () => connections.size,
    deliverLocal: deliver,
    close() {
      unsubscribe();
      clearInterval(heartbeat);
      for (const connection of connections) {
        connection.socket.close(WS_CLOSE.GOING_AWAY, 'server shutting down');
        // A peer that never answers the close frame must not hold the shutdown for ws's 30 s.
        setTimeout(() => connection.socket.terminate(), 1_000).unref();
      }
      wss.close();
    },
  };
}
