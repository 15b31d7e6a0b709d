/**
 * The WebSocket at /ws: events the server pushes to this session (grants, key problems, the
 * end of the session, and for reviewers the live audit feed). One connection per signed-in
 * tab; the session cookie authenticates it. It reconnects with backoff and says when it is
 * back, so callers can refetch what they may have missed.
 */
import { WS_CLOSE, type ClientMessage, type ServerEvent, type ServerEventType } from '../../shared/events.ts';
import { backoffDelay } from '../lib/backoff.ts';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface EventStreamHandlers {
  onEvent: (event: ServerEvent) => void;
  /** Every open, the first and each reconnect: refetch what changed meanwhile. */
  onOpen: () => void;
  onState: (state: ConnectionState) => void;
  /** The server closed the socket because the session is over. No reconnect follows. */
  onSessionEnded: () => void;
  /**
   * An attempt closed before it opened. The browser does not say why; a refused upgrade
   * (no session any more) looks the same as a server that is down.
   */
  onAttemptFailed: () => void;
}

export interface EventStream {
  close: () => void;
}

/** The shared/events.ts allowance is 50 messages/s; a ping every 25 s keeps idle proxies from closing the socket. */
const PING_EVERY_MS = 25_000;

const EVENT_TYPES: ReadonlySet<ServerEventType> = new Set<ServerEventType>([
  'MODELS_UNLOCKED',
  'GRANT_EXPIRING',
  'GRANT_REVOKED',
  'KEY_MISMATCH_ERROR',
  'KEY_SUSPENDED',
  'SESSION_ENDED',
  'SECURITY_EVENT',
  'DETECTOR_STATUS',
]);

function parseServerEvent(data: unknown): ServerEvent | undefined {
  if (typeof data !== 'string') return undefined;
  try {
    const value: unknown = JSON.parse(data);
    if (typeof value !== 'object' || value === null) return undefined;
    const type = (value as { type?: unknown }).type;
    // Shapes are the server's own; only the type is checked before it is switched on.
    return EVENT_TYPES.has(type as ServerEventType) ? (value as ServerEvent) : undefined;
  } catch {
    return undefined;
  }
}

export function eventsUrl(): string {
  return `${location.origin.replace(/^http/, 'ws')}/ws`;
}

/** Opens the socket and keeps it open until `close()` or the end of the session. */
export function openEventStream(handlers: EventStreamHandlers): EventStream {
  let socket: WebSocket | undefined;
  let attempt = 0;
  let everOpened = false;
  let closed = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let pingTimer: ReturnType<typeof setInterval> | undefined;

  function connect() {
    retryTimer = undefined;
    if (closed) return;
    handlers.onState(everOpened ? 'reconnecting' : 'connecting');
    let current: WebSocket;
    try {
      current = new WebSocket(eventsUrl());
    } catch {
      scheduleRetry();
      return;
    }
    socket = current;
    let opened = false;

    current.onopen = () => {
      opened = true;
      attempt = 0;
      everOpened = true;
      handlers.onState('connected');
      pingTimer = setInterval(() => sendMessage(current, { type: 'ping' }), PING_EVERY_MS);
      handlers.onOpen();
    };
    current.onmessage = (message) => {
      const event = parseServerEvent(message.data);
      if (event) handlers.onEvent(event);
    };
    current.onclose = (event) => {
      clearInterval(pingTimer);
      if (socket !== current || closed) return;
      socket = undefined;
      if (event.code === WS_CLOSE.SESSION_ENDED) {
        closed = true;
        handlers.onState('closed');
        handlers.onSessionEnded();
        return;
      }
      if (!opened) handlers.onAttemptFailed();
      scheduleRetry();
    };
  }

  function scheduleRetry() {
    if (closed || retryTimer) return;
    handlers.onState(everOpened ? 'reconnecting' : 'connecting');
    retryTimer = setTimeout(connect, backoffDelay(attempt));
    attempt += 1;
  }

  // Back online: no reason to sit out the rest of a long backoff.
  function onOnline() {
    if (closed || socket || !retryTimer) return;
    clearTimeout(retryTimer);
    connect();
  }
  window.addEventListener('online', onOnline);

  connect();

  return {
    close: () => {
      closed = true;
      window.removeEventListener('online', onOnline);
      clearTimeout(retryTimer);
      clearInterval(pingTimer);
      const current = socket;
      socket = undefined;
      current?.close(1000, 'signed out');
      handlers.onState('closed');
    },
  };
}

function sendMessage(socket: WebSocket, message: ClientMessage) {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}
