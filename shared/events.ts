/**
 * What the server pushes to a browser over the WebSocket at /ws, and what a chat stream
 * sends as Server-Sent Events. Events cross server nodes over Redis pub/sub.
 */
import type { AuditEventView } from './audit.ts';
import type { GrantEndReason, GrantView } from './api.ts';
import type { DetectedKey } from './detector.ts';

export type ServerEvent =
  /** A fresh ownership assertion unlocked restricted models for this session. */
  | { type: 'MODELS_UNLOCKED'; grant: GrantView }
  /** The grant ends soon (default 30 s before): one touch renews it. */
  | { type: 'GRANT_EXPIRING'; grantId: string; expiresAt: string }
  /** The grant ended early or ran out; restricted models are locked again. */
  | { type: 'GRANT_REVOKED'; grantId: string; reason: GrantEndReason }
  /** A key registered to another account was used in this session. */
  | { type: 'KEY_MISMATCH_ERROR'; message: string }
  /** One of this user's keys was suspended (clone detection). */
  | { type: 'KEY_SUSPENDED'; keyId: string }
  /** This session was ended on the server (sign-out elsewhere, user disabled, key removed). */
  | { type: 'SESSION_ENDED' }
  /** Admins and auditors: a new audit event (the live feed). */
  | { type: 'SECURITY_EVENT'; event: AuditEventView }
  /** One of this user's paired detectors came online, went offline, saw keys change, or was revoked. */
  | { type: 'DETECTOR_STATUS'; detectorId: string; name: string; status: 'online' | 'offline' | 'revoked'; keys: DetectedKey[] };

export type ServerEventType = ServerEvent['type'];

/** Messages a browser may send on /ws. Anything else closes the connection. */
export type ClientMessage = { type: 'ping' };

/** WebSocket close codes Argus uses, with the reason string sent alongside. */
export const WS_CLOSE = {
  /** 1008 policy violation: bad or unexpected message, or too many. */
  POLICY: 1008,
  /** 1009 message too big. */
  TOO_BIG: 1009,
  /** 4001: the session ended; sign in again. */
  SESSION_ENDED: 4001,
  /** 1001 going away: the server is shutting down. */
  GOING_AWAY: 1001,
} as const;

/** Server-Sent Events of POST /api/chat/stream, one JSON object per `data:` line. */
export type ChatStreamEvent =
  /** Conversation streams only: the stored ids of the question and of the answer being written. */
  | { type: 'start'; userMessageId: string | null; assistantMessageId: string }
  | { type: 'delta'; text: string }
  | { type: 'done'; finishReason: 'stop' | 'length' }
  /** The stream was cut: the grant ended (key removed, expired, revoked) or the client stopped. */
  | { type: 'cut'; reason: GrantEndReason | 'stopped' }
  | { type: 'error'; code: string; message: string };
