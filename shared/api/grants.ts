/** Models and presence-bound grants: request and response types of the JSON API. */
import type { HidDeviceInfo, WebAuthnResponseJSON } from './keys.ts';

export const MODEL_TIERS = ['standard', 'restricted'] as const;
export type ModelTier = (typeof MODEL_TIERS)[number];

/** A model as the chat screen sees it. Upstream URLs and key variable names stay on the server. */
export interface ModelView {
  id: string;
  displayName: string;
  description: string;
  tier: ModelTier;
  /** The built-in offline demo provider: labelled so it is never mistaken for a real model. */
  demo: boolean;
  /** Restricted models: unlocked now by this session's grant. Standard models: always true. */
  unlocked: boolean;
  requiresUserVerification: boolean;
  grantSeconds: number;
}

/** GET /api/models */
export interface ModelListResponse {
  models: ModelView[];
}

/**
 * How this browser watches the key's presence:
 * - 'webhid': the browser sees the key (WebHID); unplugging it ends the grant at once;
 * - 'detector': a paired local detector reports it;
 * - 'assertion': nothing watches; the grant simply runs out.
 */
export const PRESENCE_MODES = ['webhid', 'detector', 'assertion'] as const;
export type PresenceMode = (typeof PRESENCE_MODES)[number];

/** Why a grant ended. */
export const GRANT_END_REASONS = [
  'expired',
  'key_removed',
  'locked_by_user',
  'signed_out',
  'session_ended',
  'key_deactivated',
  'key_suspended',
  'key_reassigned',
  'key_deleted',
  'user_disabled',
  'admin_revoked',
  'replaced',
  'model_changed',
] as const;
export type GrantEndReason = (typeof GRANT_END_REASONS)[number];

/** A live model-access grant, as its session sees it. */
export interface GrantView {
  id: string;
  models: string[];
  issuedAt: string;
  expiresAt: string;
  presenceMode: PresenceMode;
  keyId: string;
  keyNickname: string;
}

/** POST /api/verify-key-ownership */
export interface VerifyKeyOwnershipRequest {
  response: WebAuthnResponseJSON;
  presenceMode: PresenceMode;
  /** What WebHID saw, when the browser can see the key: compared with the registration, never proof. */
  device?: HidDeviceInfo;
}

/** POST /api/verify-key-ownership, GET /api/grants/current */
export interface GrantResponse {
  grant: GrantView | null;
}

/** DELETE /api/grants/current — only these reasons may come from a browser. */
export const CLIENT_REVOKE_REASONS = ['key_removed', 'locked_by_user'] as const;
export interface RevokeGrantRequest {
  reason: (typeof CLIENT_REVOKE_REASONS)[number];
}

/** One chat message sent to a model. */
export interface ChatMessage {
  role: 'user' | 'assistant' | 'system';
  content: string;
}

/** POST /api/chat/stream (answers text/event-stream; see shared/events.ts ChatStreamEvent). */
export interface ChatStreamRequest {
  model: string;
  messages: ChatMessage[];
}
