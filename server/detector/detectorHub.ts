import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  DETECTOR_CLOSE,
  DETECTOR_MAX_FRAME_BYTES,
  DETECTOR_PATH,
  DETECTOR_PROTOCOL,
  type DetectedKey,
  type DetectorMessage,
  type DetectorServerMessage,
} from '../../shared/detector.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { getLiveDetectorByKeyId, touchDetector, type DetectorRow } from '../db/detectors.ts';
import type { Deps } from '../deps.ts';
import { applyDetectorReport } from './reports.ts';
import { DetectorMessageSchema, diffKeys, distinctKeys, keyIdentity } from './protocol.ts';
import { detectorPresence } from './presence.ts';
import { clientAddress, trustProxyFn } from '../http/clientAddress.ts';
import { headerText } from '../http/headerText.ts';
import { wsConnectionsActive, wsConnectionsTotal, wsMessages } from '../metrics.ts';
import { UpgradeRefused } from '../realtime/upgradeRefusal.ts';
import { MessageBudget } from '../realtime/messageBudget.ts';
import { acceptUpgrades, admitMessage, closeForShutdown, parseTextFrame, startHeartbeat, takeConnection } from '../realtime/socketBasics.ts';

/** Seed design (Unhidra): 50 messages/s per connection; a detector needs far fewer. */
const MESSAGES_PER_SECOND = 20;
/** `<keyId>.<secret>`: a 16-byte id and a 32-byte secret, both base64url. */
const DEVICE_KEY = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

interface DetectorConnection {
  id: string;
  socket: WebSocket;
  detector: DetectorRow;
  context: AuditContext;
  keys: DetectedKey[];
  /** The keys the previous connection last reported: the first hello is compared with them. */
  previousKeys: DetectedKey[];
  greeted: boolean;
  alive: boolean;
  budget: MessageBudget;
  /** Messages are handled one at a time, in order. */
  queue: Promise<void>;
}

export interface DetectorHub {
  /** Live detector connections on this node. */
  count(): number;
  close(): void;
}


/** The offered subprotocols, in order. */
function offeredProtocols(req: IncomingMessage): string[] {
  return (req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/**
 * The detector endpoint at /ws/detector. The device key comes in Sec-WebSocket-Protocol
 * (['argus-detector.v1', '<keyId>.<secret>'], never the URL) and the server echoes only the
 * first. Connection rates are limited per IP and per detector before the one Argon2id
 * verification a handshake costs. Each connection is tracked in Redis (online, keys seen),
 * its owner's browsers hear DETECTOR_STATUS, and its reports go through applyDetectorReport,
 * which can only take access away. A revocation (a bus event) closes it on whichever node
 * holds it. Bad messages close it with a DETECTOR_CLOSE code; none can crash the server.
 */
export function attachDetectorHub(server: Server, deps: Deps): DetectorHub {
  const { config, redis, bus, log, pool, hasher } = deps;
  const trustProxy = trustProxyFn(config.trustProxy);
  const presence = detectorPresence(deps);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: DETECTOR_MAX_FRAME_BYTES,
    // Echo only the protocol name: the device key must never come back in a response header.
    handleProtocols: (protocols) => (protocols.has(DETECTOR_PROTOCOL) ? DETECTOR_PROTOCOL : false),
  });
  const connections = new Map<string, DetectorConnection>();
  const perIp = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'rl:detector-ip', points: config.detector.connectionsPerMinutePerIp, duration: 60 });
  const perDetector = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: 'rl:detector-key',
    points: config.detector.connectionsPerMinutePerDetector,
    duration: 60,
  });

  async function authenticate(req: IncomingMessage): Promise<{ detector: DetectorRow; context: AuditContext }> {
    const ip = clientAddress(req, trustProxy);
    // A web page is never a detector: browsers always send Origin, and a page elsewhere must not connect.
    if (req.headers.origin !== undefined && req.headers.origin !== config.origin) {
      throw new UpgradeRefused(403, 'CSRF_REJECTED', 'Cross-origin detector connections are refused.');
    }
    await takeConnection(perIp, ip ?? 'unknown', 'from this address');
    const [protocol, token, ...extra] = offeredProtocols(req);
    if (protocol !== DETECTOR_PROTOCOL || extra.length > 0) {
      throw new UpgradeRefused(400, 'VALIDATION_FAILED', `Offer the subprotocols ['${DETECTOR_PROTOCOL}', '<keyId>.<secret>'].`);
    }
    const match = DEVICE_KEY.exec(token ?? '');
    if (!match) throw new UpgradeRefused(401, 'DETECTOR_UNAUTHORIZED', 'The detector key is missing or malformed. Pair the detector again.');
    const [, keyId, secret] = match as unknown as [string, string, string];
    await takeConnection(perDetector, keyId, 'for this detector');
    const detector = await getLiveDetectorByKeyId(pool, keyId);
    // Unknown ids cost one hash too (the hasher's dummy), so timing does not tell them apart.
    const check = await hasher.verify(detector?.key_hash ?? null, secret);
    const userAgent = headerText(req.headers['user-agent']) ?? null;
    if (!detector || !check.ok) {
      await recordAuditEvent(pool, { actor: null, ip, userAgent }, {
        action: 'detector.auth_failed',
        outcome: 'denied',
        target: detector ? { type: 'detector', id: detector.id } : null,
        details: { keyId, reason: detector ? 'wrong_secret' : 'unknown_or_revoked' },
      });
      throw new UpgradeRefused(401, 'DETECTOR_UNAUTHORIZED', 'This detector is not paired or was revoked. Pair it again.');
    }
    return { detector, context: { actor: { id: detector.user_id, username: detector.owner_username }, ip, userAgent } };
  }

  const send = (connection: DetectorConnection, message: DetectorServerMessage) => {
    connection.socket.send(JSON.stringify(message));
    wsMessages.inc({ kind: 'detector', direction: 'out' });
  };

  const announce = (connection: DetectorConnection, status: 'online' | 'offline') =>
    bus.notify(
      { userId: connection.detector.user_id },
      { type: 'DETECTOR_STATUS', detectorId: connection.detector.id, name: connection.detector.name, status, keys: status === 'online' ? connection.keys : [] },
    );

  async function report(connection: DetectorConnection, next: DetectedKey[]): Promise<void> {
    const before = connection.keys;
    connection.keys = next;
    const { attached, detached } = diffKeys(before, next);
    if (attached.length === 0 && detached.length === 0) return;
    // Access first: end grants before telling anyone what changed.
    await applyDetectorReport(deps, { detector: connection.detector, attached, detached, context: connection.context });
    await presence.setKeys(connection.detector.id, connection.id, next);
    announce(connection, 'online');
  }

  async function handle(connection: DetectorConnection, message: DetectorMessage): Promise<void> {
    const close = (reason: string) => connection.socket.close(DETECTOR_CLOSE.UNEXPECTED, reason);
    switch (message.type) {
      case 'hello': {
        if (connection.greeted) return close('hello was already sent on this connection');
        connection.greeted = true;
        connection.keys = connection.previousKeys;
        return report(connection, distinctKeys(message.keys));
      }
      case 'attach':
      case 'detach': {
        if (!connection.greeted) return close(`${message.type} before hello`);
        const id = keyIdentity(message.key);
        const others = connection.keys.filter((key) => keyIdentity(key) !== id);
        return report(connection, message.type === 'attach' ? [...others, message.key] : others);
      }
      case 'heartbeat': {
        if (message.detectorId !== connection.detector.id) return close('heartbeat names another detector');
        // A backstop for a revocation (or a disabled owner) whose bus event this node missed.
        if (!(await getLiveDetectorByKeyId(pool, connection.detector.key_id))) {
          return connection.socket.close(DETECTOR_CLOSE.REVOKED, 'this detector was revoked');
        }
        await presence.refresh(connection.detector.id);
        await touchDetector(pool, connection.detector.id);
        return;
      }
    }
  }

  function onMessage(connection: DetectorConnection, data: RawData, isBinary: boolean): void {
    if (!admitMessage(connection, { kind: 'detector', route: DETECTOR_PATH, closeCode: DETECTOR_CLOSE.TOO_MANY_MESSAGES })) return;
    const message = DetectorMessageSchema.safeParse(parseTextFrame(data, isBinary));
    if (!message.success) {
      log.info({ detectorId: connection.detector.id }, 'detector sent a malformed message');
      return connection.socket.close(DETECTOR_CLOSE.MALFORMED, isBinary ? 'binary frames are not part of the protocol' : 'malformed message');
    }
    connection.queue = connection.queue
      .then(() => handle(connection, message.data))
      .catch((error: unknown) => log.warn({ err: (error as Error).message, detectorId: connection.detector.id }, 'detector report failed'));
  }

  async function opened(socket: WebSocket, detector: DetectorRow, context: AuditContext): Promise<void> {
    const connection: DetectorConnection = {
      id: randomUUID(),
      socket,
      detector,
      context,
      keys: [],
      previousKeys: [],
      greeted: false,
      alive: true,
      budget: new MessageBudget(MESSAGES_PER_SECOND),
      queue: Promise.resolve(),
    };
    // Messages wait in the queue until the connection is recorded.
    let ready!: () => void;
    connection.queue = new Promise<void>((resolve) => (ready = resolve));
    wsConnectionsTotal.inc({ kind: 'detector' });
    wsConnectionsActive.inc({ kind: 'detector' });
    socket.on('message', (data, isBinary) => onMessage(connection, data, isBinary));
    socket.on('pong', () => {
      connection.alive = true;
      presence.refresh(detector.id).catch(() => undefined);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      wsConnectionsActive.dec({ kind: 'detector' });
      if (connections.get(detector.id) === connection) connections.delete(detector.id);
      connection.queue
        .then(async () => {
          if (await presence.disconnect(detector.id, connection.id)) announce(connection, 'offline');
          await touchDetector(pool, detector.id);
        })
        .catch((error: unknown) => log.warn({ err: (error as Error).message, detectorId: detector.id }, 'detector disconnect not recorded'));
    });
    connections.get(detector.id)?.socket.close(DETECTOR_CLOSE.REPLACED, 'a newer connection of this detector took over');
    connections.set(detector.id, connection);
    try {
      connection.previousKeys = await presence.connect(detector.id, { connectionId: connection.id, nodeId: bus.nodeId, connectedAt: Date.now() });
      await touchDetector(pool, detector.id);
      send(connection, { type: 'welcome', detectorId: detector.id, heartbeatSeconds: config.detector.heartbeatSeconds });
      announce(connection, 'online');
    } finally {
      ready();
    }
  }

  acceptUpgrades(server, {
    route: DETECTOR_PATH,
    wss,
    log,
    authenticate,
    opened: (ws, { detector, context }) => {
      opened(ws, detector, context).catch((error: unknown) => {
        log.warn({ err: (error as Error).message, detectorId: detector.id }, 'detector connection could not be recorded');
        ws.close(DETECTOR_CLOSE.GOING_AWAY, 'try again later');
      });
    },
    unexpected: { status: 503, code: 'SERVICE_UNAVAILABLE', logMessage: 'detector upgrade failed' },
  });

  // A revocation on any node reaches every node over the bus; the node holding the connection closes it.
  const unsubscribe = bus.on(({ event }) => {
    if (event.type !== 'DETECTOR_STATUS' || event.status !== 'revoked') return;
    connections.get(event.detectorId)?.socket.close(DETECTOR_CLOSE.REVOKED, 'this detector was revoked');
  });

  const stopHeartbeat = startHeartbeat(() => connections.values(), config.wsHeartbeatSeconds * 1000);

  return {
    count: () => connections.size,
    close() {
      unsubscribe();
      stopHeartbeat();
      closeForShutdown(wss, connections.values(), DETECTOR_CLOSE.GOING_AWAY);
    },
  };
}
