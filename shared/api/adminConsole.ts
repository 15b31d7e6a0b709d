/** Admin console (model catalog, live view, overview): request and response types of the JSON API. */
import type { GrantEndReason, GrantView, ModelTier } from './grants.ts';

export const MODEL_PROVIDERS = ['openai', 'demo'] as const;
export type ModelProvider = (typeof MODEL_PROVIDERS)[number];

/** The settings an admin may change (PATCH sends any of them). */
export interface ModelSettings {
  displayName: string;
  description: string;
  provider: ModelProvider;
  baseUrl: string | null;
  upstreamModel: string;
  /** Names the server's environment variable that holds the upstream key; the key itself never leaves the server. */
  apiKeyEnv: string | null;
  tier: ModelTier;
  grantSeconds: number;
  requiresUserVerification: boolean;
  maxOutputTokens: number;
}

/** A model as an admin configures it. */
export interface AdminModelView extends ModelSettings {
  id: string;
  /** Whether the `apiKeyEnv` variable is set on the server that answered. */
  apiKeyConfigured: boolean;
  enabled: boolean;
  updatedAt: string;
}

/** POST /api/admin/models, PATCH /api/admin/models/:id */
export interface AdminModelResponse {
  model: AdminModelView;
}

/** GET /api/admin/models */
export interface AdminModelListResponse {
  models: AdminModelView[];
}

/** POST /api/admin/models (defaults apply to what is left out, as in the CLI). */
export type CreateModelRequest = { id: string; displayName: string } & Partial<ModelSettings>;

/** PATCH /api/admin/models/:id */
export type UpdateModelRequest = Partial<ModelSettings> & { enabled?: boolean };

/** POST /api/admin/models/:id/test: a tiny request to the model's server. */
export type ModelTestResult =
  | { ok: true; latencyMs: number; reply: string }
  | {
      ok: false;
      latencyMs: number;
      code: 'MODEL_UNREACHABLE' | 'MODEL_ERROR' | 'MODEL_TIMEOUT' | 'MODEL_BAD_RESPONSE' | 'MODEL_HOST_FORBIDDEN' | 'MODEL_REDIRECT_REFUSED';
      message: string;
    };

/** How a session got signed in. */
export type SignInMethod = 'password_and_key' | 'oidc_and_key' | 'enrollment' | 'oidc_first_key';

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

/**
 * The first steps of a new installation, each true once done, as the data shows it: another
 * account exists, a model other than the offline demo is enabled, a detector was paired, the
 * audit log was exported.
 */
export interface SetupProgress {
  usersCreated: boolean;
  realModel: boolean;
  detectorPaired: boolean;
  auditExported: boolean;
}

/** GET /api/admin/overview */
export interface OverviewResponse {
  setup: SetupProgress;
  since: string;
  hours: OverviewHour[];
  /** Revoked grants over the whole window, by reason. */
  revokedByReason: Partial<Record<GrantEndReason, number>>;
  /** Right now. */
  current: { activeUsers: number; liveSessions: number; liveGrants: number; enabledModels: number };
}

/** GET /api/admin/data-keys: where encryption at rest of restricted conversations stands (issue #21). */
export interface DataKeysResponse {
  /** The key-encryption key new data keys are wrapped under (the first of DATA_ENCRYPTION_KEYS). */
  currentKekId: string;
  /** Every configured KEK id, the current one first. */
  configuredKekIds: string[];
  /** Conversations whose data key is wrapped under each KEK; `configured` false means they cannot be read. */
  perKek: Array<{ kekId: string; conversations: number; current: boolean; configured: boolean }>;
  /** Every data key is under the current KEK: the others may be removed from the configuration. */
  rotationComplete: boolean;
  /** Restricted conversations still stored in plaintext, waiting for the encryption job. */
  plaintextRestricted: number;
  /**
   * PostgreSQL has checked every row against conversation_restricted_is_encrypted (the
   * encryption job validates it once none is left in plaintext): the database itself refuses
   * any restricted conversation in plaintext, old ones included.
   */
  encryptionConstraintValidated: boolean;
}
