import type { IncomingMessage, Server } from 'node:http';
import { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Role } from '../../shared/api.ts';
import { WS_CLOSE, type ServerEvent } from '../../shared/events.ts';
import { getUserById } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import type { Envelope } from './bus.ts';
import { wsConnectionsActive, wsConnectionsTotal, wsMessages } from '../metrics.ts';
import { clientAddress, trustProxyFn } from '../http/clientAddress.ts';
import { UpgradeRefused } from './upgradeRefusal.ts';
import { MessageBudget } from './messageBudget.ts';
import { acceptUpgrades, admitMessage, closeForShutdown, parseTextFrame, startHeartbeat, takeConnection } from './socketBasics.ts';

export type SessionParser = RequestHandler;

/** Limits from the seed design (Unhidra). The per-address one is the default of WS_CONNECTIONS_PER_MINUTE_PER_IP. */
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

/** Who a browser connection belongs to, as the upgrade established it. */
type SignedInPeer = Pick<Connection, 'userId' | 'sessionId' | 'role'>;

export interface Hub {
  /** Live browser connections on this node. */
  count(): number;
  /** Sends to this node's matching sockets only (for events every node learns by itself). */
  deliverLocal(target: Envelope['target'], event: ServerEvent): void;
  /** Whether this node holds any socket `target` matches (so an event for it is worth building). */
  hasListeners(target: Envelope['target']): boolean;
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
  const perIp = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'rl:ws-ip', points: config.wsConnectionsPerMinutePerIp, duration: 60 });
  const perUser = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'rl:ws-user', points: WS_LIMITS.connectionsPerMinutePerUser, duration: 60 });

  async function authenticate(req: IncomingMessage): Promise<SignedInPeer> {
    // Cross-site WebSocket hijacking: browsers send Origin on upgrades; it must be ours.
    if (req.headers.origin !== config.origin) throw new UpgradeRefused(403, 'CSRF_REJECTED', 'Cross-origin WebSocket refused.');
    await takeConnection(perIp, clientAddress(req, trustProxy), 'from this address');
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
    await takeConnection(perUser, user.id, 'for this user');
    return { userId: user.id, sessionId: sessionID, role: user.role };
  }

  function onMessage(connection: Connection, data: RawData, isBinary: boolean): void {
    if (!admitMessage(connection, { kind: 'browser', route: '/ws', closeCode: WS_CLOSE.POLICY })) return;
    const message = parseTextFrame(data, isBinary);
    // The browser has nothing to tell us but pings: presence reports go over HTTP, where they can only end a grant.
    if (typeof message !== 'object' || message === null || (message as { type?: unknown }).type !== 'ping') {
      connection.socket.close(WS_CLOSE.POLICY, 'unexpected message');
    }
  }

  const forget = (connection: Connection) => {
    if (connections.delete(connection)) wsConnectionsActive.dec({ kind: 'browser' });
  };

  function opened(ws: WebSocket, who: SignedInPeer): void {
    const connection: Connection = { socket: ws, ...who, alive: true, budget: new MessageBudget(WS_LIMITS.messagesPerSecond) };
    connections.add(connection);
    wsConnectionsTotal.inc({ kind: 'browser' });
    wsConnectionsActive.inc({ kind: 'browser' });
    ws.on('pong', () => (connection.alive = true));
    ws.on('message', (data, isBinary) => onMessage(connection, data, isBinary));
    ws.on('close', () => forget(connection));
    ws.on('error', () => forget(connection));
  }

  acceptUpgrades(server, { route: '/ws', wss, log, authenticate, opened, unexpected: { status: 500, code: 'INTERNAL', logMessage: 'websocket upgrade failed' } });
  const stopHeartbeat = startHeartbeat(() => connections, config.wsHeartbeatSeconds * 1000, forget);

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
    hasListeners: (target) => {
      for (const connection of connections) if (matches(connection, target)) return true;
      return false;
    },
    close() {
      unsubscribe();
      stopHeartbeat();
      closeForShutdown(wss, connections, WS_CLOSE.GOING_AWAY);
    },
  };
}
