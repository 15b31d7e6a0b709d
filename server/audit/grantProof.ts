/**
 * The presence proof of one grant, checked by Argus for the audit page and the export
 * manifest (issue #25): the grant event's recorded assertion verifies with the public key of
 * its credential's registration event, and the credential was its user's then (following
 * reassignments and deletions). The checks are the offline verifier's own
 * (server/audit/presence/verifyGrant.ts); this file only finds the events they join.
 */
import type { AuditEventView, GrantProof, GrantProofResponse } from '../../shared/audit.ts';
import { getCredentialHistory, getGrantEvent, GRANT_ACTIONS, REGISTRATION_ACTIONS } from '../db/auditPresence.ts';
import type { Queryable } from '../db/pool.ts';
import { verifyGrantEvent } from './presence/verifyGrant.ts';

const text = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : null);

/** The credential id a grant event's assertion names, if it recorded one. */
function signingCredentialId(grantEvent: AuditEventView): string | null {
  const assertion = grantEvent.details.assertion;
  return typeof assertion === 'object' && assertion !== null ? text((assertion as Record<string, unknown>).credentialId) : null;
}

/**
 * Checks a grant event against its credential's history (seq order): the latest registration
 * before the grant, and the owner changes between the two. A record malformed enough to make
 * the verifier throw is unproven, never an error.
 */
function proveWithHistory(grant: AuditEventView, history: readonly AuditEventView[]): { proof: GrantProof; registrationSeq: number | null } {
  const before = history.filter((event) => event.seq < grant.seq);
  const registration = before.findLast((event) => REGISTRATION_ACTIONS.includes(event.action)) ?? null;
  const ownerChanges = registration ? before.filter((event) => event.seq > registration.seq && !REGISTRATION_ACTIONS.includes(event.action)) : [];
  try {
    return { proof: verifyGrantEvent({ grant, registration, ownerChanges }), registrationSeq: registration?.seq ?? null };
  } catch {
    return { proof: { verified: false, reason: 'grant_record_unreadable' }, registrationSeq: registration?.seq ?? null };
  }
}

/**
 * The proof behind an event: a grant event's own, or that of the grant a restricted use or a
 * grant's end names (details.grantId). Null when the event names no grant.
 */
export async function proofForEvent(db: Queryable, event: AuditEventView): Promise<GrantProofResponse | null> {
  const grantEvent = GRANT_ACTIONS.includes(event.action) ? event : null;
  const grantId = grantEvent ? (text(grantEvent.details.grantId) ?? grantEvent.targetId) : text(event.details.grantId);
  if (!grantId) return null;
  const madeBy = grantEvent ?? (await getGrantEvent(db, grantId, event.seq));
  // A use under a grant no event ever made: the very thing a proof exists to catch.
  if (!madeBy) return { grantSeq: null, grantId, registrationSeq: null, proof: { verified: false, reason: 'grant_not_issued' } };
  const credentialId = signingCredentialId(madeBy);
  const history = credentialId ? await getCredentialHistory(db, credentialId, madeBy.seq) : [];
  const { proof, registrationSeq } = proveWithHistory(madeBy, history);
  return { grantSeq: madeBy.seq, grantId, registrationSeq, proof };
}

/**
 * How long the tally verifies signatures before it lets the node's other work run: a signature
 * costs a few hundred microseconds, and a batch of the export may hold thousands of grants.
 */
const VERIFY_SLICE_MS = 20;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Counts the grants an export holds and proves each as it streams past (the manifest's
 * `presence`). Each credential's history is read from the log once, whole, so the count is the
 * same whatever the export's filter leaves out (a registration before its range, an owner
 * change its filter skips).
 */
export class ExportPresenceTally {
  private grants = 0;
  private proven = 0;
  private readonly histories = new Map<string, AuditEventView[]>();
  private sliceStarted = performance.now();

  constructor(private readonly db: Queryable) {}

  /** Whether `event` makes a grant: the only events `add` needs, so the export loop awaits nothing for the rest. */
  static concerns(event: AuditEventView): boolean {
    return GRANT_ACTIONS.includes(event.action);
  }

  /**
   * Counts and proves one grant event. Returns a promise only when it must wait (a credential's
   * history to read, or a turn for the node's other work): the export loop awaits nothing else.
   */
  add(grant: AuditEventView): Promise<void> | undefined {
    const credentialId = signingCredentialId(grant);
    if (credentialId && !this.histories.has(credentialId)) {
      return getCredentialHistory(this.db, credentialId).then((history) => {
        this.histories.set(credentialId, history);
        return this.add(grant);
      });
    }
    this.grants += 1;
    const history = credentialId ? this.histories.get(credentialId)! : [];
    if (proveWithHistory(grant, history).proof.verified) this.proven += 1;
    if (performance.now() - this.sliceStarted > VERIFY_SLICE_MS) {
      return nextTurn().then(() => {
        this.sliceStarted = performance.now();
      });
    }
    return undefined;
  }

  get summary(): { grants: number; proven: number } {
    return { grants: this.grants, proven: this.proven };
  }
}
