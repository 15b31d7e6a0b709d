/**
 * Reads the presence-proof members of an audit event's details (docs/presence-proofs.md,
 * "Recorded fields") into typed values, strictly: a member of the wrong type, or binary data
 * that is not canonical base64url without padding, makes the whole record unreadable (null).
 * Imports nothing that talks to Postgres.
 */
import type { AssertionRecord, AuditEventView, CredentialRecord, GrantRecord } from '../../../shared/audit.ts';

type Members = Record<string, unknown>;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

const isObject = (value: unknown): value is Members => typeof value === 'object' && value !== null && !Array.isArray(value);
const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

/** Characters whose low 4 (resp. 2) bits are zero: the only ones that may end a text of length 4k+2 (resp. 4k+3). */
const LAST_OF_2 = /[AQgw]$/;
const LAST_OF_3 = /[AEIMQUYcgkosw048]$/;

/**
 * The bytes of canonical base64url without padding (RFC 4648 §5), or null. Node's decoder
 * skips characters it does not know and ignores stray bits in the last character; both are
 * refused here, so one byte string has one spelling and every verifier reads the same bytes.
 */
export function base64urlBytes(text: unknown): Buffer | null {
  if (typeof text !== 'string' || !BASE64URL.test(text)) return null;
  const tail = text.length % 4;
  if (tail === 1 || (tail === 2 && !LAST_OF_2.test(text)) || (tail === 3 && !LAST_OF_3.test(text))) return null;
  return Buffer.from(text, 'base64url');
}

/** `details.credential` of a registration event: the credential and the public key it signs with. */
export function readCredentialRecord(details: Members): CredentialRecord | null {
  const c = details.credential;
  if (!isObject(c)) return null;
  if (!isText(c.id) || !isText(c.publicKey) || !Number.isSafeInteger(c.alg) || !isText(c.userId)) return null;
  if (base64urlBytes(c.id) === null || base64urlBytes(c.publicKey) === null) return null;
  return {
    id: c.id,
    publicKey: c.publicKey,
    alg: c.alg as number,
    aaguid: typeof c.aaguid === 'string' ? c.aaguid : '',
    attestationObjectSha256: typeof c.attestationObjectSha256 === 'string' ? c.attestationObjectSha256 : '',
    userId: c.userId,
  };
}

/** `details.credential` of a reassignment: { id, fromUserId, toUserId }. */
export function readReassignment(details: Members): { id: string; fromUserId: string; toUserId: string } | null {
  const c = details.credential;
  if (!isObject(c) || !isText(c.id) || !isText(c.fromUserId) || !isText(c.toUserId)) return null;
  return { id: c.id, fromUserId: c.fromUserId, toUserId: c.toUserId };
}

/** A deleted credential as key.deleted / key.removed and each of user.deleted's keysDeleted name it: { id, userId }. */
export function readDeletedCredential(value: unknown): { id: string; userId: string } | null {
  if (!isObject(value) || !isText(value.id) || !isText(value.userId)) return null;
  return { id: value.id, userId: value.userId };
}

/** `details.assertion`: an accepted assertion and what Argus expected of it. */
export function readAssertionRecord(value: unknown): AssertionRecord | null {
  if (!isObject(value)) return null;
  const a = value;
  for (const member of ['credentialId', 'clientDataJSON', 'authenticatorData', 'signature', 'challenge', 'origin', 'rpId', 'userId'] as const) {
    if (!isText(a[member])) return null;
  }
  if (typeof a.requireUserVerification !== 'boolean') return null;
  if (a.userHandle !== null && a.userHandle !== undefined && typeof a.userHandle !== 'string') return null;
  return {
    credentialId: a.credentialId as string,
    clientDataJSON: a.clientDataJSON as string,
    authenticatorData: a.authenticatorData as string,
    signature: a.signature as string,
    userHandle: (a.userHandle as string | null | undefined) ?? null,
    challenge: a.challenge as string,
    origin: a.origin as string,
    rpId: a.rpId as string,
    userId: a.userId as string,
    requireUserVerification: a.requireUserVerification,
  };
}

/** `details.grant`, with its times read as milliseconds since the epoch. */
export interface GrantTerms extends GrantRecord {
  issuedAtMs: number;
  expiresAtMs: number;
}

/** An ISO 8601 time as milliseconds, or null. */
export function timeMs(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

export function readGrantRecord(value: unknown): GrantTerms | null {
  if (!isObject(value)) return null;
  const g = value;
  if (!isText(g.id) || !Array.isArray(g.models) || !g.models.every(isText) || typeof g.presenceMode !== 'string') return null;
  const issuedAtMs = timeMs(g.issuedAt);
  const expiresAtMs = timeMs(g.expiresAt);
  if (issuedAtMs === null || expiresAtMs === null) return null;
  return { id: g.id, models: g.models as string[], issuedAt: g.issuedAt as string, expiresAt: g.expiresAt as string, presenceMode: g.presenceMode, issuedAtMs, expiresAtMs };
}

/** The grant an event names: details.grantId, else a grant target. */
export function namedGrantId(event: AuditEventView): string | null {
  const fromDetails = event.details.grantId;
  if (isText(fromDetails)) return fromDetails;
  return event.targetType === 'grant' && isText(event.targetId) ? event.targetId : null;
}

export { isObject, isText };
