/**
 * The offline presence check (issue #25, docs/presence-proofs.md): reads audit events in seq
 * order, once, and proves every grant from the signature its owner's key made, then every
 * restricted use from a proven grant. Memory grows with the credentials, the challenges and
 * the grants in the log (a few hundred bytes each), never with the other events.
 * Imports nothing that talks to Postgres.
 */
import type { AssertionRecord, AuditEventView } from '../../../shared/audit.ts';
import { checkAssertion, type AssertionCheckFailure } from './checkAssertion.ts';
import { coseToPublicKey, type CoseKeyFailure, type CredentialPublicKey } from './cose.ts';
import {
  base64urlBytes,
  isText,
  namedGrantId,
  readAssertionRecord,
  readCredentialRecord,
  readDeletedCredential,
  readGrantRecord,
  readReassignment,
  timeMs,
  type GrantTerms,
} from './recordedFields.ts';
import { CREDENTIAL_DELETION_ACTIONS } from './verifyGrant.ts';

/** Stable reason codes, one per check (docs/presence-proofs.md lists each with its rule). */
export type PresenceReason =
  | AssertionCheckFailure
  | CoseKeyFailure
  // Registrations and the owner history.
  | 'registration_malformed'
  | 'credential_reregistered'
  | 'owner_history_mismatch'
  // Assertions, against the log.
  | 'assertion_missing'
  | 'unknown_credential'
  | 'credential_deleted'
  | 'wrong_owner'
  | 'user_mismatch'
  | 'challenge_reused'
  | 'counter_not_increased'
  | 'origin_not_expected'
  | 'rp_id_not_expected'
  // Grants and renewals.
  | 'grant_malformed'
  | 'grant_id_reused'
  | 'grant_time_mismatch'
  | 'grant_lifetime_too_long'
  | 'renewal_of_unknown_grant'
  | 'renewal_after_end'
  // Restricted uses.
  | 'use_outside_grant'
  | 'grant_unproven'
  | 'use_before_issue'
  | 'use_after_grant_end'
  | 'use_after_expiry'
  | 'model_not_covered'
  | 'use_wrong_user'
  | 'grant_id_conflict';

export interface PresenceProblem {
  seq: number;
  /** The event's action, as found in the log. */
  action: string;
  reason: PresenceReason;
  grantId?: string;
  credentialId?: string;
  /** A few words more: where the earlier event is, what was found. */
  detail?: string;
}

export interface PresenceReport {
  ok: boolean;
  events: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** Events that make a grant (grant.issued, grant.renewed with a new grant): all of them, and those proven. */
  grants: { total: number; proven: number };
  /**
   * Restricted uses: all of them; those inside a proven grant's proven lifetime; and those
   * inside it only thanks to a renewal the server claims (detector presence), which are not
   * failed but are no proof either.
   */
  uses: { total: number; proven: number; onClaimedRenewal: number };
  /** Assertions that make no grant (sign-in, step-up): all of them, and those verified. */
  assertions: { total: number; verified: number };
  /** Renewals of a live grant: by a fresh assertion (each checked as above), and claimed by the server. */
  renewals: { byAssertion: number; byAssertionProven: number; claimed: number };
  /** Every problem, in seq order (an event may have several). */
  problems: PresenceProblem[];
  /** The seq of every restricted use that is not proven (its problems are among `problems`). */
  unprovenUses: number[];
}

export interface PresenceOptions {
  /**
   * How far a use's recorded time may lie outside its grant's lifetime (milliseconds): the
   * server records a use just after it checked the grant, and nodes' clocks differ a little.
   * The same allowance bounds a grant's `issuedAt` against its event's time.
   */
  clockAllowanceMs?: number;
  /** The longest a grant may live from its issue, or from a renewal (Argus caps a model's grant at an hour). */
  maxGrantSeconds?: number;
  /** When given, every assertion's recorded origin must be one of these. */
  expectedOrigins?: readonly string[];
  /** When given, every assertion's recorded RP ID must be one of these. */
  expectedRpIds?: readonly string[];
}

export const DEFAULT_CLOCK_ALLOWANCE_MS = 1_000;
export const DEFAULT_MAX_GRANT_SECONDS = 3_600;

/** Events that make a grant from an assertion (the server's proof route reads the same ones). */
export const GRANT_ACTIONS: readonly string[] = ['grant.issued', 'grant.renewed'];
/** Events that end a grant. */
export const GRANT_END_ACTIONS: readonly string[] = ['grant.revoked', 'grant.expired'];
/**
 * Events that name a grant but are not a use of it: the grant's own life, a stream cut because
 * its grant ended (recorded after the end), device info compared at unlock.
 */
const NOT_USES: readonly string[] = ['model.stream_cut', 'device_info_mismatch'];
const NOT_USE_PREFIXES: readonly string[] = ['grant.', 'key.', 'auth.', 'webauthn.'];

/** Whether an event is a restricted use: model.access, or any other event that names the grant it ran under. */
export function isRestrictedUse(event: AuditEventView): boolean {
  if (event.outcome !== 'success') return false;
  if (event.action === 'model.access') return true;
  if (!isText(event.details.grantId)) return false;
  return !NOT_USES.includes(event.action) && !NOT_USE_PREFIXES.some((prefix) => event.action.startsWith(prefix));
}

interface CredentialState {
  /** null when the registered COSE key cannot be used (keyProblem says why). */
  publicKey: CredentialPublicKey | null;
  keyProblem: CoseKeyFailure | null;
  publicKeyText: string;
  alg: number;
  registeredSeq: number;
  owner: string;
  ownerSince: number;
  deletedSeq: number | null;
  /** The counter of the last assertion whose signature verified; null before the first. */
  lastCounter: number | null;
}

interface GrantState {
  seq: number;
  userId: string | null;
  /** null when the grant event's `grant` could not be read (the grant is then unproven). */
  terms: { models: readonly string[]; issuedAtMs: number } | null;
  expiresAtMs: number;
  /** The expiry that signatures vouch for: the issue's, or a renewal by assertion's. */
  provenExpiresAtMs: number;
  proven: boolean;
  endedSeq: number | null;
}

/**
 * Feed it every event of a log in ascending seq (`push`), then read `report()`. An export that
 * starts after seq 1 or is filtered lacks the registrations, challenges and grants before or
 * outside it, and the report says so through the problems it finds.
 */
export class PresenceVerifier {
  private readonly allowanceMs: number;
  private readonly maxGrantMs: number;
  private readonly expectedOrigins: ReadonlySet<string> | null;
  private readonly expectedRpIds: ReadonlySet<string> | null;
  private readonly credentials = new Map<string, CredentialState>();
  /** Every challenge an accepted assertion used, with the seq of the first. */
  private readonly challenges = new Map<string, number>();
  private readonly grantStates = new Map<string, GrantState>();
  private readonly result: PresenceReport = {
    ok: true,
    events: 0,
    firstSeq: null,
    lastSeq: null,
    grants: { total: 0, proven: 0 },
    uses: { total: 0, proven: 0, onClaimedRenewal: 0 },
    assertions: { total: 0, verified: 0 },
    renewals: { byAssertion: 0, byAssertionProven: 0, claimed: 0 },
    problems: [],
    unprovenUses: [],
  };

  constructor({ clockAllowanceMs = DEFAULT_CLOCK_ALLOWANCE_MS, maxGrantSeconds = DEFAULT_MAX_GRANT_SECONDS, expectedOrigins, expectedRpIds }: PresenceOptions = {}) {
    this.allowanceMs = clockAllowanceMs;
    this.maxGrantMs = maxGrantSeconds * 1000;
    this.expectedOrigins = expectedOrigins && expectedOrigins.length > 0 ? new Set(expectedOrigins) : null;
    this.expectedRpIds = expectedRpIds && expectedRpIds.length > 0 ? new Set(expectedRpIds) : null;
  }

  report(): PresenceReport {
    return { ...this.result, ok: this.result.problems.length === 0 };
  }

  private problem(event: AuditEventView, reason: PresenceReason, extra: Omit<PresenceProblem, 'seq' | 'action' | 'reason'> = {}): void {
    this.result.problems.push({ seq: event.seq, action: event.action, reason, ...extra });
  }

  push(event: AuditEventView): void {
    this.result.events += 1;
    this.result.firstSeq ??= event.seq;
    this.result.lastSeq = event.seq;
    // Only what was done counts: a refusal recorded nothing to prove.
    if (event.outcome !== 'success') return;
    const details = event.details;

    // The owner history first: a registration, reassignment or deletion in this very event counts from here on.
    if (typeof details.credential === 'object' && details.credential !== null) {
      if ('publicKey' in details.credential) this.registration(event);
      else if (readReassignment(details)) this.reassignment(event);
      else if (CREDENTIAL_DELETION_ACTIONS.includes(event.action)) this.deletion(event, readDeletedCredential(details.credential));
    }
    if (event.action === 'user.deleted' && event.targetType === 'user' && event.targetId) this.userDeletion(event, event.targetId);

    if (details.assertion !== undefined) this.assertionEvent(event);
    else if (GRANT_ACTIONS.includes(event.action)) this.unsignedGrantEvent(event);

    if (GRANT_END_ACTIONS.includes(event.action)) this.end(namedGrantId(event), event.seq);
    else if (isRestrictedUse(event)) this.use(event);
  }

  private registration(event: AuditEventView): void {
    const record = readCredentialRecord(event.details);
    if (!record) return this.problem(event, 'registration_malformed');
    const existing = this.credentials.get(record.id);
    if (existing && existing.deletedSeq === null) {
      // key.registered and key.first_key_registered record one registration twice, identically.
      if (existing.publicKeyText === record.publicKey && existing.alg === record.alg && existing.owner === record.userId) return;
      // The database refuses a second row for a live credential id: this one would swap its key or owner.
      return this.problem(event, 'credential_reregistered', { credentialId: record.id, detail: `registered at #${existing.registeredSeq}` });
    }
    const cose = coseToPublicKey(base64urlBytes(record.publicKey)!, record.alg);
    if (!cose.ok) this.problem(event, cose.reason, { credentialId: record.id });
    this.credentials.set(record.id, {
      publicKey: cose.ok ? cose.publicKey : null,
      keyProblem: cose.ok ? null : cose.reason,
      publicKeyText: record.publicKey,
      alg: record.alg,
      registeredSeq: event.seq,
      owner: record.userId,
      ownerSince: event.seq,
      deletedSeq: null,
      // The same key registered again (after a deletion) keeps counting from where it was.
      lastCounter: existing && existing.publicKeyText === record.publicKey ? existing.lastCounter : null,
    });
  }

  private reassignment(event: AuditEventView): void {
    const moved = readReassignment(event.details)!;
    const credential = this.credentials.get(moved.id);
    // A key registered before this log (or before proofs were recorded) can sign nothing provable anyway.
    if (!credential || credential.deletedSeq !== null) return;
    if (credential.owner !== moved.fromUserId) {
      this.problem(event, 'owner_history_mismatch', { credentialId: moved.id, detail: `owned by ${credential.owner} since #${credential.ownerSince}` });
    }
    credential.owner = moved.toUserId;
    credential.ownerSince = event.seq;
  }

  private deletion(event: AuditEventView, deleted: { id: string; userId: string } | null): void {
    const credential = deleted ? this.credentials.get(deleted.id) : undefined;
    if (!deleted || !credential || credential.deletedSeq !== null) return;
    if (credential.owner !== deleted.userId) {
      this.problem(event, 'owner_history_mismatch', { credentialId: deleted.id, detail: `owned by ${credential.owner} since #${credential.ownerSince}` });
    }
    credential.deletedSeq = event.seq;
  }

  /** Deleting a user deletes every key they own (ON DELETE CASCADE); details.keysDeleted lists them. */
  private userDeletion(event: AuditEventView, userId: string): void {
    for (const credential of this.credentials.values()) {
      if (credential.owner === userId && credential.deletedSeq === null) credential.deletedSeq = event.seq;
    }
  }

  /**
   * An event with `assertion`: a grant (with `grant`), a renewal of a live grant by a fresh
   * assertion (grant.renewed without `grant`), or a sign-in or step-up.
   */
  private assertionEvent(event: AuditEventView): void {
    const details = event.details;
    const makesGrant = details.grant !== undefined || event.action === 'grant.issued';
    const extendsGrant = !makesGrant && event.action === 'grant.renewed';
    const before = this.result.problems.length;
    const failed = () => this.result.problems.length > before;
    if (makesGrant) this.result.grants.total += 1;
    else if (extendsGrant) this.result.renewals.byAssertion += 1;
    else this.result.assertions.total += 1;

    const assertion = readAssertionRecord(details.assertion);
    if (!assertion) this.problem(event, 'assertion_malformed');
    else this.checkAssertionInLog(event, assertion);
    // A grant is made for the user the assertion was made for.
    if (assertion && (makesGrant || extendsGrant) && event.actorId !== assertion.userId) this.problem(event, 'user_mismatch', { detail: `actor ${event.actorId ?? 'none'}` });

    if (makesGrant) {
      const terms = this.grantTerms(event);
      if (!failed()) this.result.grants.proven += 1;
      this.makeGrant(event, terms, assertion?.userId ?? event.actorId, !failed());
    } else if (extendsGrant) {
      // A renewal whose assertion fails extends nothing: later uses fall after the old expiry.
      if (!failed() && this.extendGrant(event, { by: 'assertion', userId: assertion!.userId })) this.result.renewals.byAssertionProven += 1;
    } else if (!failed()) {
      this.result.assertions.verified += 1;
    }
  }

  /** A grant event without `assertion`: a grant nobody can prove, or a renewal the server claims (detector presence). */
  private unsignedGrantEvent(event: AuditEventView): void {
    const details = event.details;
    const makesGrant = event.action === 'grant.issued' || details.grant !== undefined || details.renewedBy === 'assertion';
    if (!makesGrant) {
      // Counted, never failed: it extends the lifetime on the server's word alone.
      this.result.renewals.claimed += 1;
      this.extendGrant(event, { by: 'claim' });
      return;
    }
    this.result.grants.total += 1;
    this.problem(event, 'assertion_missing', { grantId: namedGrantId(event) ?? undefined });
    const terms = details.grant !== undefined ? this.grantTerms(event) : null;
    this.makeGrant(event, terms, event.actorId, false);
  }

  /** The checks of one accepted assertion: its own bytes, and against the log so far. */
  private checkAssertionInLog(event: AuditEventView, assertion: AssertionRecord): void {
    const credentialId = assertion.credentialId;
    // A challenge is single-use: accepted once in the whole log, whatever the ceremony.
    const firstUse = this.challenges.get(assertion.challenge);
    if (firstUse !== undefined) this.problem(event, 'challenge_reused', { credentialId, detail: `first accepted at #${firstUse}` });
    else this.challenges.set(assertion.challenge, event.seq);
    if (this.expectedOrigins && !this.expectedOrigins.has(assertion.origin)) this.problem(event, 'origin_not_expected', { credentialId });
    if (this.expectedRpIds && !this.expectedRpIds.has(assertion.rpId)) this.problem(event, 'rp_id_not_expected', { credentialId });

    const credential = this.credentials.get(credentialId);
    if (!credential) return this.problem(event, 'unknown_credential', { credentialId });
    if (!credential.publicKey) return this.problem(event, credential.keyProblem!, { credentialId, detail: `registered at #${credential.registeredSeq}` });
    // Ownership at this moment, following reassignments; a deleted key signs for nobody.
    if (credential.deletedSeq !== null) this.problem(event, 'credential_deleted', { credentialId, detail: `deleted at #${credential.deletedSeq}` });
    else if (credential.owner !== assertion.userId) {
      this.problem(event, 'wrong_owner', { credentialId, detail: `owned by ${credential.owner} since #${credential.ownerSince}` });
    }

    const check = checkAssertion({ assertion, publicKey: credential.publicKey });
    for (const failure of check.failures) this.problem(event, failure, { credentialId });
    if (check.counter === null) return;
    // Clone detection: the counter must grow, unless the authenticator keeps none (both 0).
    const last = credential.lastCounter;
    if (last !== null && !(check.counter > last || (check.counter === 0 && last === 0))) {
      this.problem(event, 'counter_not_increased', { credentialId, detail: `counter ${check.counter} after ${last}` });
    }
    // Only a genuine signature vouches for its counter.
    if (check.signatureValid) credential.lastCounter = Math.max(last ?? 0, check.counter);
  }

  /** `details.grant`, checked for a sane lifetime; null (reported) when it cannot be read. */
  private grantTerms(event: AuditEventView): GrantTerms | null {
    const terms = readGrantRecord(event.details.grant);
    if (!terms) {
      this.problem(event, 'grant_malformed', { grantId: namedGrantId(event) ?? undefined });
      return null;
    }
    const eventMs = timeMs(event.time);
    // issuedAt is taken just before the event is written; the signature says nothing about time, the chain does.
    if (terms.expiresAtMs <= terms.issuedAtMs || eventMs === null || Math.abs(terms.issuedAtMs - eventMs) > this.allowanceMs) {
      this.problem(event, 'grant_time_mismatch', { grantId: terms.id, detail: `issuedAt ${terms.issuedAt}, expiresAt ${terms.expiresAt}, recorded ${event.time}` });
    }
    if (terms.expiresAtMs - terms.issuedAtMs > this.maxGrantMs) this.problem(event, 'grant_lifetime_too_long', { grantId: terms.id });
    if (isText(event.details.grantId) && event.details.grantId !== terms.id) this.problem(event, 'grant_id_conflict', { grantId: terms.id });
    return terms;
  }

  private makeGrant(event: AuditEventView, terms: GrantTerms | null, userId: string | null, proven: boolean): void {
    // A renewal ends the grant it replaces, whether or not its own proof holds.
    const replaces = event.details.replaces;
    if (isText(replaces)) this.end(replaces, event.seq);
    const id = terms?.id ?? namedGrantId(event);
    if (!id) return;
    const earlier = this.grantStates.get(id);
    if (earlier) {
      // Uses keep running under the first grant of that id: a second cannot widen or lengthen it.
      this.problem(event, 'grant_id_reused', { grantId: id, detail: `made at #${earlier.seq}` });
      if (proven) this.result.grants.proven -= 1;
      return;
    }
    this.grantStates.set(id, {
      seq: event.seq,
      userId,
      terms: terms ? { models: terms.models, issuedAtMs: terms.issuedAtMs } : null,
      expiresAtMs: terms?.expiresAtMs ?? Number.NEGATIVE_INFINITY,
      provenExpiresAtMs: proven && terms ? terms.expiresAtMs : Number.NEGATIVE_INFINITY,
      proven,
      endedSeq: null,
    });
  }

  /**
   * grant.renewed without a new grant: the named grant's expiry moves to details.expiresAt. By
   * a fresh assertion (checked already, and only if it passed) it is proven; claimed by the
   * server it only extends what counts as inside the lifetime, and the uses it alone covers are
   * counted apart.
   */
  private extendGrant(event: AuditEventView, renewal: { by: 'assertion'; userId: string } | { by: 'claim' }): boolean {
    const id = namedGrantId(event);
    const grant = id ? this.grantStates.get(id) : undefined;
    if (!id || !grant) {
      this.problem(event, 'renewal_of_unknown_grant', { grantId: id ?? undefined });
      return false;
    }
    if (grant.endedSeq !== null) {
      this.problem(event, 'renewal_after_end', { grantId: id, detail: `ended at #${grant.endedSeq}` });
      return false;
    }
    const expiresAtMs = timeMs(event.details.expiresAt);
    const eventMs = timeMs(event.time);
    if (expiresAtMs === null || eventMs === null) {
      this.problem(event, 'grant_malformed', { grantId: id });
      return false;
    }
    if (expiresAtMs - eventMs > this.maxGrantMs) {
      this.problem(event, 'grant_lifetime_too_long', { grantId: id });
      return false;
    }
    if (renewal.by === 'assertion' && renewal.userId !== grant.userId) {
      this.problem(event, 'user_mismatch', { grantId: id, detail: `grant of ${grant.userId ?? 'nobody'}` });
      return false;
    }
    grant.expiresAtMs = expiresAtMs;
    if (renewal.by === 'assertion' && grant.proven) grant.provenExpiresAtMs = expiresAtMs;
    return true;
  }

  private end(grantId: string | null, seq: number): void {
    const grant = grantId ? this.grantStates.get(grantId) : undefined;
    if (grant && grant.endedSeq === null) grant.endedSeq = seq;
  }

  /** A restricted use: inside a proven grant's lifetime, before its end, for a model it covers, by its user. */
  private use(event: AuditEventView): void {
    this.result.uses.total += 1;
    const grantId = namedGrantId(event);
    const before = this.result.problems.length;
    const at = { grantId: grantId ?? undefined };
    if (isText(event.details.grantId) && event.targetType === 'grant' && event.targetId !== event.details.grantId) {
      this.problem(event, 'grant_id_conflict', { ...at, detail: `target ${event.targetId ?? 'none'}` });
    }
    const grant = grantId ? this.grantStates.get(grantId) : undefined;
    if (!grant) {
      this.problem(event, 'use_outside_grant', at);
      this.result.unprovenUses.push(event.seq);
      return;
    }
    if (!grant.proven) this.problem(event, 'grant_unproven', { ...at, detail: `made at #${grant.seq}` });
    if (grant.endedSeq !== null) this.problem(event, 'use_after_grant_end', { ...at, detail: `ended at #${grant.endedSeq}` });
    const useMs = timeMs(event.time) ?? Number.NaN;
    if (grant.terms) {
      if (!(useMs >= grant.terms.issuedAtMs - this.allowanceMs)) this.problem(event, 'use_before_issue', at);
      if (!(useMs < grant.expiresAtMs + this.allowanceMs)) this.problem(event, 'use_after_expiry', { ...at, detail: `expired ${new Date(grant.expiresAtMs).toISOString()}` });
      if (event.model === null || !grant.terms.models.includes(event.model)) this.problem(event, 'model_not_covered', { ...at, detail: `model ${event.model ?? 'none'}` });
    }
    if (event.actorId !== grant.userId) this.problem(event, 'use_wrong_user', { ...at, detail: `actor ${event.actorId ?? 'none'}` });
    if (this.result.problems.length > before) {
      this.result.unprovenUses.push(event.seq);
      return;
    }
    if (useMs < grant.provenExpiresAtMs + this.allowanceMs) this.result.uses.proven += 1;
    else this.result.uses.onClaimedRenewal += 1;
  }
}
