/**
 * Request and response types of the JSON API. Only what crosses the wire lives here.
 */
export const ROLES = ['user', 'admin', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const USER_STATUSES = ['active', 'disabled'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

/** What the browser may know about a user. Never includes the password hash. */
export interface PublicUser {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  status: UserStatus;
  createdAt: string;
}

/** GET /api/session */
export type SessionResponse =
  | { signedIn: true; user: PublicUser; expiresAt: string }
  | { signedIn: false };

/** POST /api/auth/signin */
export interface SignInRequest {
  username: string;
  password: string;
}

/**
 * The answer to a completed step of sign-in or enrollment: either fully signed in, or the
 * security-key step comes next (fetch its options from the endpoint the step names).
 */
export type StepResponse = { next: 'done'; user: PublicUser } | { next: 'security_key' };

/** GET /api/enrollment/:token */
export interface EnrollmentInfo {
  username: string;
  displayName: string;
  expiresAt: string;
  /** Steps still to do, in order. */
  remaining: Array<EnrollmentStep>;
  /**
   * True when the password was chosen earlier but the key step was never finished: the
   * person confirms that password (POST …/resume) before registering a key.
   */
  resumable: boolean;
}

export type EnrollmentStep = 'password' | 'security_key';

/** POST /api/enrollment/:token/password */
export interface SetPasswordRequest {
  password: string;
}

/** Password policy, shared so the browser can say the rules before the server enforces them. */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

/** A one-time enrollment link, shown once to the admin who made it. */
export interface EnrollmentLink {
  url: string;
  expiresAt: string;
}

/** GET /api/admin/users */
export interface UserListResponse {
  users: PublicUser[];
  /** Pass as `after` to fetch the next page; null on the last page. */
  nextCursor: string | null;
}

/** POST /api/admin/users */
export interface CreateUserRequest {
  username: string;
  displayName?: string;
  role: Role;
}
export interface CreateUserResponse {
  user: PublicUser;
  enrollment: EnrollmentLink;
}

/** PATCH /api/admin/users/:id */
export interface UpdateUserRequest {
  status?: UserStatus;
  role?: Role;
}

/** POST /api/admin/users/:id/enrollment */
export type NewEnrollmentResponse = EnrollmentLink;

// ── Security keys ────────────────────────────────────────────────────────────────────

export const KEY_STATUSES = ['active', 'deactivated', 'suspended'] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

/** What a browser's WebHID saw of the key (metadata, never proof). */
export interface HidDeviceInfo {
  vendorId: number;
  productId: number;
  productName: string;
}

/** A registered security key as its owner (or an admin) sees it. Never the public key. */
export interface SecurityKeyView {
  id: string;
  ownerId: string;
  ownerUsername: string;
  nickname: string;
  /** From the AAGUID; "Unknown security key" when not in the bundled table. */
  modelName: string;
  aaguid: string;
  /** True for synced/backed-up passkeys: they never unlock restricted models. */
  synced: boolean;
  transports: string[];
  status: KeyStatus;
  statusReason: string | null;
  signCount: number;
  hid: HidDeviceInfo | null;
  createdAt: string;
  lastUsedAt: string | null;
}

/**
 * The browser's WebAuthn JSON, passed through from @simplewebauthn/browser untouched.
 * The server validates its shape and verifies it.
 */
export type WebAuthnResponseJSON = Record<string, unknown>;

/** Options for navigator.credentials.create / .get, as @simplewebauthn/browser takes them. */
export type WebAuthnOptionsJSON = Record<string, unknown>;

/** POST /api/auth/key/options, /api/enrollment/:token/key/options, … */
export interface WebAuthnOptionsResponse {
  options: WebAuthnOptionsJSON;
}

/** POST /api/auth/key */
export interface KeyAssertionRequest {
  response: WebAuthnResponseJSON;
}

/** POST /api/enrollment/:token/key and POST /api/account/keys */
export interface KeyRegistrationRequest {
  response: WebAuthnResponseJSON;
  nickname?: string;
  hid?: HidDeviceInfo;
}

/** POST /api/enrollment/:token/resume */
export interface ResumeEnrollmentRequest {
  password: string;
}

/** GET /api/account/keys, GET /api/admin/keys */
export interface KeyListResponse {
  keys: SecurityKeyView[];
  nextCursor: string | null;
}

/** PATCH /api/account/keys/:id */
export interface RenameKeyRequest {
  nickname: string;
}

/** GET /api/account/step-up: whether a fresh assertion is on record for this session. */
export interface StepUpStatus {
  /** ISO time until which sensitive actions are allowed without touching the key again. */
  validUntil: string | null;
}

/** One of the user's live sessions. `id` is a public handle, never the session id itself. */
export interface SessionView {
  id: string;
  current: boolean;
  signedInAt: string;
  ip: string | null;
  userAgent: string | null;
  /** The key used to sign in with, if it still exists. */
  keyNickname: string | null;
}

/** GET /api/account/sessions */
export interface SessionListResponse {
  sessions: SessionView[];
}

/** POST /api/admin/keys/:id/status */
export interface KeyStatusChangeRequest {
  status: 'active' | 'deactivated';
  /** Required when reactivating a suspended key (clone detection). */
  reason?: string;
}

/** POST /api/admin/keys/:id/reassign: the new owner, by id or by username. */
export type ReassignKeyRequest = { userId: string } | { username: string };

// ── Models and presence-bound grants ─────────────────────────────────────────────────

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

// ── Conversations ─────────────────────────────────────────────────────────────────────

export const CONVERSATION_TITLE_MAX = 120;
export const MESSAGE_MAX_CHARS = 32_000;

export interface ConversationView {
  id: string;
  title: string;
  /** The model last used in this conversation. */
  model: string;
  createdAt: string;
  updatedAt: string;
}

/**
 * 'complete': the answer finished; 'cut_off': it stopped early (grant ended, stopped by the
 * user) and keeps what was written; 'error': the model failed; 'streaming': being written now.
 */
export type MessageStatus = 'complete' | 'cut_off' | 'error' | 'streaming';

export interface MessageView {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  model: string | null;
  status: MessageStatus;
  /** Why an answer was cut off or failed, in words for people. */
  note: string | null;
  createdAt: string;
}

/** GET /api/conversations */
export interface ConversationListResponse {
  conversations: ConversationView[];
  nextCursor: string | null;
}

/** POST /api/conversations */
export interface CreateConversationRequest {
  model: string;
  title?: string;
}

/** GET /api/conversations/:id */
export interface ConversationResponse {
  conversation: ConversationView;
  messages: MessageView[];
}

/** PATCH /api/conversations/:id */
export interface RenameConversationRequest {
  title: string;
}

/**
 * POST /api/conversations/:id/messages — answers text/event-stream (ChatStreamEvent).
 * POST /api/conversations/:id/retry — the same, re-answering the last user message.
 */
export interface SendMessageRequest {
  content: string;
  model: string;
}

export interface RetryRequest {
  model?: string;
}

// ── Admin console: model catalog, live view, overview ───────────────────────────────

export const MODEL_PROVIDERS = ['openai', 'demo'] as const;
export type ModelProvider = (typeof MODEL_PROVIDERS)[number];

/**
 * A model as an admin configures it. `apiKeyEnv` names the server's environment variable
 * that holds the upstream key; the key itself never leaves the server.
 */
export interface AdminModelView {
  id: string;
  displayName: string;
  description: string;
  provider: ModelProvider;
  baseUrl: string | null;
  upstreamModel: string;
  apiKeyEnv: string | null;
  /** Whether that variable is set on the server that answered. */
  apiKeyConfigured: boolean;
  tier: ModelTier;
  enabled: boolean;
  grantSeconds: number;
  requiresUserVerification: boolean;
  maxOutputTokens: number;
  updatedAt: string;
}

/** GET /api/admin/models */
export interface AdminModelListResponse {
  models: AdminModelView[];
}

/** The settings an admin may change (PATCH sends any of them). */
export interface ModelSettings {
  displayName: string;
  description: string;
  provider: ModelProvider;
  baseUrl: string | null;
  upstreamModel: string;
  apiKeyEnv: string | null;
  tier: ModelTier;
  grantSeconds: number;
  requiresUserVerification: boolean;
  maxOutputTokens: number;
}

/** POST /api/admin/models (defaults apply to what is left out, as in the CLI). */
export type CreateModelRequest = { id: string; displayName: string } & Partial<ModelSettings>;

/** PATCH /api/admin/models/:id */
export type UpdateModelRequest = Partial<ModelSettings> & { enabled?: boolean };

/** POST /api/admin/models/:id/test: a tiny request to the model's server. */
export type ModelTestResult =
  | { ok: true; latencyMs: number; reply: string }
  | { ok: false; latencyMs: number; code: 'MODEL_UNREACHABLE' | 'MODEL_ERROR' | 'MODEL_TIMEOUT' | 'MODEL_BAD_RESPONSE'; message: string };

/** How a session got signed in. */
export type SignInMethod = 'password_and_key' | 'enrollment';

/** A live session of any user, as an admin sees it. `id` is a public handle, never the session id. */
export interface AdminSessionView {
  id: string;
  userId: string;
  username: string;
  ip: string | null;
  userAgent: string | null;
  signedInAt: string;
  lastSeenAt: string;
  method: SignInMethod;
  keyId: string | null;
  keyNickname: string | null;
  current: boolean;
}

/** GET /api/admin/sessions */
export interface AdminSessionListResponse {
  sessions: AdminSessionView[];
  /** Live sessions in all; more than `sessions.length` when the list was cut at the limit. */
  total: number;
}

/** GET /api/admin/grants */
export interface AdminGrantView extends GrantView {
  userId: string;
  username: string;
}
export interface AdminGrantListResponse {
  grants: AdminGrantView[];
}

/** One hour of the overview: counts from the audit log. */
export interface OverviewHour {
  /** ISO start of the hour (UTC). */
  hour: string;
  signIns: number;
  signInFailures: number;
  grantsIssued: number;
  grantsRevoked: number;
  denials: number;
  mismatches: number;
}

/** GET /api/admin/overview */
export interface OverviewResponse {
  since: string;
  hours: OverviewHour[];
  /** Revoked grants over the whole window, by reason. */
  revokedByReason: Partial<Record<GrantEndReason, number>>;
  /** Right now. */
  current: { activeUsers: number; liveSessions: number; liveGrants: number; enabledModels: number };
}
