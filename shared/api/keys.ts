/** Security keys: request and response types of the JSON API. */
/** `pending_approval`: registered after a company sign-in (OIDC_FIRST_KEY=approval), unusable until an admin approves it. */
export const KEY_STATUSES = ['active', 'deactivated', 'suspended', 'pending_approval'] as const;
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
  /** What registration proved against FIDO metadata (threat-model G16). */
  attestation: KeyAttestationView;
  signCount: number;
  hid: HidDeviceInfo | null;
  createdAt: string;
  lastUsedAt: string | null;
}

/**
 * A key's attestation: `attested` when its registration chained to a root its model's FIDO
 * metadata statement lists (none, self and unknown attestations are not). The AAGUID the
 * metadata certifies (null for U2F keys, which metadata names by attestation key) and the
 * certification status it reported then, e.g. `FIDO_CERTIFIED_L1`.
 */
export interface KeyAttestationView {
  attested: boolean;
  certifiedAaguid: string | null;
  certificationLevel: string | null;
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

/** One key as a change left it: PATCH /api/account/keys/:id, POST /api/account/keys, POST /api/admin/keys/:id/status and …/reassign */
export interface KeyResponse {
  key: SecurityKeyView;
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
