/**
 * The audit taxonomy: every action Argus records, with its default severity.
 * One list, used by the server when writing and by the SPA when showing.
 */
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const OUTCOMES = ['success', 'failure', 'denied'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const AUDIT_ACTIONS = {
  'auth.signin': 'info',
  'auth.signin_failed': 'medium',
  'auth.signout': 'info',
  'auth.session_ended': 'low',
  'auth.password_verified': 'info',
  'auth.step_up': 'info',
  'auth.key_mismatch': 'high',
  'webauthn.options_issued': 'info',
  'webauthn.assertion_failed': 'medium',
  'webauthn.registration_failed': 'medium',
  'key.registered': 'medium',
  'key.renamed': 'low',
  'key.removed': 'medium',
  'key.deactivated': 'high',
  'key.reactivated': 'high',
  'key.reassigned': 'high',
  'key.deleted': 'high',
  'key.suspended': 'critical',
  'key.model_compromised': 'critical',
  'enrollment.resumed': 'info',
  'grant.issued': 'medium',
  'grant.renewed': 'low',
  'grant.revoked': 'medium',
  'grant.expired': 'info',
  'grant.denied': 'medium',
  'grant.forged_record': 'critical',
  'session.forged_record': 'critical',
  'device_info_mismatch': 'medium',
  'model.access': 'low',
  'model.stream_cut': 'medium',
  'enrollment.created': 'medium',
  'enrollment.password_set': 'info',
  'enrollment.completed': 'medium',
  'user.created': 'medium',
  'user.admin_created': 'high',
  'user.disabled': 'high',
  'user.enabled': 'medium',
  'user.role_changed': 'high',
  'user.password_rehashed': 'info',
  'detector.pairing_code_issued': 'low',
  'detector.paired': 'medium',
  'detector.pairing_failed': 'medium',
  'detector.revoked': 'medium',
  'detector.auth_failed': 'medium',
  'detector.serial_bound': 'medium',
  'detector.key_mismatch': 'high',
  'user.deleted': 'high',
  'model.added': 'medium',
  'model.changed': 'medium',
  'model.enabled': 'medium',
  'model.disabled': 'medium',
  'model.tested': 'info',
  // The two-person rule (threat model G9): each step of a change a second admin must approve.
  'pending_change.requested': 'medium',
  'pending_change.approved': 'high',
  'pending_change.rejected': 'medium',
  'pending_change.cancelled': 'low',
  'pending_change.expired': 'low',
  'pending_change.applied': 'high',
  'auth.rate_limited': 'high',
  'audit.export': 'medium',
  'audit.chain_break_detected': 'critical',
  'audit.chain_break_acknowledged': 'high',
  'audit.outbox_forged_record': 'critical',
  // Company sign-in (OIDC, issue #20).
  'auth.oidc_verified': 'info',
  'auth.oidc_failed': 'medium',
  'auth.backchannel_logout': 'medium',
  'auth.backchannel_logout_refused': 'medium',
  'user.identity_linked': 'high',
  'user.identity_unlinked': 'high',
  'user.company_signin_allowed': 'medium',
  'user.role_change_refused': 'high',
  'key.first_key_registered': 'high',
  'key.approved': 'high',
  // Restricted conversations (issue #21): opened under a live grant (details.grantId), or refused.
  'conversation.read': 'low',
  'conversation.read_denied': 'medium',
} as const satisfies Record<string, Severity>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

/** One audit event as the API returns it. */
export interface AuditEventView {
  seq: number;
  time: string;
  actorId: string | null;
  actorUsername: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: Outcome;
  severity: Severity;
  ip: string | null;
  userAgent: string | null;
  model: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/**
 * An event as search and get show it: the stored event and the target's current name, read
 * at answer time. The name is not part of the event: it is never hashed, exported or signed.
 */
export interface ResolvedAuditEvent extends AuditEventView {
  /**
   * The target's name (username, key nickname, model or detector name); for a target since
   * deleted, the name its event recorded; null when there is none (a grant, an export).
   */
  targetName: string | null;
}

/** GET /api/audit/events/:seq */
export interface AuditEventResponse {
  event: ResolvedAuditEvent;
}

/*
 * Presence proofs (issue #25, docs/presence-proofs.md): what the audit log keeps so anyone can
 * re-verify, offline, that a grant was made by a signature of the owner's own key. Public
 * signature data, no secrets. Every binary value is base64url without padding.
 */

/** `credential` in the details of a registration event (key.registered, key.first_key_registered). */
export interface CredentialRecord {
  id: string;
  /** The COSE_Key exactly as the authenticator returned it. */
  publicKey: string;
  /** COSE algorithm: -7 ES256, -8 EdDSA, -257 RS256. */
  alg: number;
  aaguid: string;
  /** Hex SHA-256 of the attestationObject's bytes. */
  attestationObjectSha256: string;
  /** The owner at registration. */
  userId: string;
}

/** `assertion` in the details of every assertion Argus accepted (auth.signin, auth.step_up, grant.issued, grant.renewed). */
export interface AssertionRecord {
  credentialId: string;
  clientDataJSON: string;
  authenticatorData: string;
  signature: string;
  userHandle: string | null;
  /** The challenge Argus issued, as it appears in clientDataJSON. */
  challenge: string;
  /** What Argus expected: its origin and RP ID. */
  origin: string;
  rpId: string;
  /** The user the assertion signed in, stepped up or unlocked for. */
  userId: string;
  requireUserVerification: boolean;
}

/** `grant` in the details of grant.issued (and of grant.renewed, a new grant from a new assertion). */
export interface GrantRecord {
  id: string;
  models: string[];
  issuedAt: string;
  expiresAt: string;
  presenceMode: string;
}

/** Whether a grant's recorded assertion verifies against its credential's registration event. */
export type GrantProof = { verified: true; credentialId: string } | { verified: false; reason: string };

/** GET /api/audit/events/:seq/proof: the proof of a grant event, or of the grant a restricted use names. */
export interface GrantProofResponse {
  /** The grant event checked: the event asked about, or the one that made its grant; null when no event made it. */
  grantSeq: number | null;
  grantId: string;
  /** The registration event of the credential that signed; null when none was found. */
  registrationSeq: number | null;
  proof: GrantProof;
}

/** A search counts its events up to this many; beyond, it says "10,000+" (an exact count of millions costs a scan). */
export const AUDIT_COUNT_LIMIT = 10_000;

/** How many events a search matches: exact up to AUDIT_COUNT_LIMIT, else at least that many. */
export interface AuditCount {
  count: number;
  /** True when there are more than `count` (counting stopped at the limit). */
  more: boolean;
}

/** GET /api/audit/events */
export interface AuditListResponse {
  events: ResolvedAuditEvent[];
  nextCursor: string | null;
  /** On the first page only; null when it was not counted (a later page, or counting took too long). */
  total: AuditCount | null;
}

/** GET /api/audit/verify */
export type ChainVerification =
  | { intact: true; checked: number; headSeq: number | null; headHash: string | null; checkpoints?: CheckpointSummary }
  | {
      intact: false;
      /** Events before the break (all of them verified). */
      checked: number;
      brokenAt: number;
      reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap' | CheckpointBreakReason;
      /** The event found where the chain breaks (for a gap, the one after the hole); null when the chain ends there. */
      found?: { seq: number; action: string } | null;
      checkpoints?: CheckpointSummary;
    };

/**
 * How a signed checkpoint shows tampering: its signature does not verify, the event at its
 * seq no longer has the hash it signed, or the chain now ends before it (tail truncated).
 */
export type CheckpointBreakReason = 'checkpoint_signature_invalid' | 'checkpoint_mismatch' | 'truncated';

/** A signed statement that the chain head was (seq, hash) at `time`. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  time: string;
  /** SHA-256 (hex) of the signing public key's SPKI DER. */
  keyFingerprint: string;
  /** Base64 Ed25519 signature over the canonical JSON of {type, seq, hash, time}. */
  signature: string;
}

/** GET /api/audit/verify also says which checkpoints vouched for the chain. */
export interface CheckpointSummary {
  checked: number;
  latest: AuditCheckpoint | null;
}

/** Search filters shared by the event list and exports; every member optional. */
export interface AuditSearch {
  /** ISO 8601 time, inclusive. */
  from?: string;
  /** ISO 8601 time, exclusive. */
  to?: string;
  /** A username (case-insensitive) or a user id. */
  actor?: string;
  action?: string;
  /** A target id (user id, key id, grant id …). */
  target?: string;
  outcome?: Outcome;
  severity?: Severity;
  model?: string;
}

export const EXPORT_FORMATS = ['jsonl', 'csv', 'cef', 'ocsf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The file name extension of each export format (the server names files with it; the SPA suggests it). */
export const EXPORT_FILE_EXTENSIONS: Record<ExportFormat, string> = { jsonl: 'jsonl', csv: 'csv', cef: 'cef', ocsf: 'ocsf.jsonl' };

/** A UTC date as YYYY-MM-DD. */
const utcDate = (time: Date) => time.toISOString().slice(0, 10);

/**
 * The name of an export file, by the dates it covers (UTC, the log's time zone), e.g.
 * `argus-audit-2026-12-01_to_2026-12-06.jsonl`, or `argus-audit-all-to-2026-12-06.jsonl`
 * without a start (one date for a range within a day). `to` is exclusive, so an end at midnight names the day before; without
 * one the range ends `now`. The server names the download with it and the SPA the picked file.
 */
export function exportFileName({ format, from, to, now = new Date() }: { format: ExportFormat; from?: string | undefined; to?: string | undefined; now?: Date }): string {
  const last = to ? utcDate(new Date(Date.parse(to) - 1)) : utcDate(now);
  const first = from ? utcDate(new Date(from)) : null;
  const range = first === null ? `all-to-${last}` : first === last ? first : `${first}_to_${last}`;
  return `argus-audit-${range}.${EXPORT_FILE_EXTENSIONS[format]}`;
}

/** POST /api/audit/exports */
export interface ExportRequest {
  format: ExportFormat;
  filter: AuditSearch;
}

/** The signed manifest that comes with every export; see docs/audit-chain.md. */
export interface ExportManifest {
  type: 'argus.audit.export-manifest';
  version: 1;
  exportId: string;
  format: ExportFormat;
  filter: AuditSearch & { fromSeq: number | null; toSeq: number | null };
  /** True when the filter selects a seq range only, so the events form an unbroken chain segment. */
  contiguous: boolean;
  eventCount: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** The hash of the event before the first one exported (its prev_hash); genesis for seq 1. */
  prevHash: string | null;
  lastHash: string | null;
  fileSha256: string;
  fileBytes: number;
  exportedAt: string;
  exporter: { id: string; username: string };
  /** The latest checkpoint whose seq lies inside the exported range, if any. */
  checkpoint: AuditCheckpoint | null;
  /**
   * The grants the export holds (grant.issued and grant.renewed events) and how many of them
   * Argus proved while exporting: the recorded assertion verifies against the credential's
   * registration event (docs/presence-proofs.md). Absent from exports made before issue #25.
   */
  presence: { grants: number; proven: number };
  signingKey: { algorithm: 'Ed25519'; fingerprint: string };
  /** Base64 Ed25519 signature over the canonical JSON of every other member. */
  signature: string;
}

/** GET /api/audit/signing-key */
export interface AuditSigningKeyView {
  algorithm: 'Ed25519';
  publicKeyPem: string;
  fingerprint: string;
}

/**
 * Why the checkpoint timer found the chain broken: a chain or checkpoint reason as
 * verification names them, or one only the timer sees: the latest checkpoint is lower than
 * one this node signed or saw (checkpoint rows deleted), or an acknowledgement's signature
 * does not verify.
 */
export type ChainAlarmReason = Extract<ChainVerification, { intact: false }>['reason'] | 'checkpoints_deleted' | 'acknowledgement_invalid';

/** An auditor's signed statement about a break; Argus signs it with the audit signing key. */
export interface BreakAcknowledgement {
  /** ISO 8601 UTC; the `time` the signature covers. */
  acknowledgedAt: string;
  acknowledgedBy: { id: string; username: string };
  statement: string;
  keyFingerprint: string;
  /** Base64 Ed25519 signature over the canonical JSON of the acknowledgement (docs/audit-chain.md). */
  signature: string;
}

/** A break the checkpoint timer found. While one is unacknowledged, no checkpoint is signed. */
export interface ChainAlarm {
  id: number;
  detectedAt: string;
  brokenSeq: number;
  reason: ChainAlarmReason;
  /** The chain head when the break was found; verification resumes from it once acknowledged. */
  headSeq: number | null;
  headHash: string | null;
  acknowledgement: BreakAcknowledgement | null;
}

/** An acknowledgement's statement, in characters: long enough to say something, short enough to sign and record whole. */
export const BREAK_STATEMENT_LENGTH = { min: 10, max: 500 } as const;

/** GET /api/audit/chain-alarms: the newest first. */
export interface ChainAlarmsResponse {
  alarms: ChainAlarm[];
}

/** POST /api/audit/chain-alarms/:id/acknowledge */
export interface AcknowledgeBreakRequest {
  statement: string;
}

export interface AcknowledgeBreakResponse {
  alarm: ChainAlarm;
}
