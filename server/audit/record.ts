import { AUDIT_ACTIONS, type AuditAction, type AuditEventView, type Outcome, type Severity } from '../../shared/audit.ts';
import { appendAuditEvent } from '../db/audit.ts';
import { isPool, type Queryable } from '../db/pool.ts';
import { auditAppenderFor } from './appender.ts';
import { canonicalJsonAround } from './canonicalJson.ts';
import { countAuditEvent } from '../metrics.ts';
import { truncateText } from '../http/headerText.ts';

/** Who did it and from where; taken from the request when there is one. */
export interface AuditContext {
  actor: { id: string; username: string } | null;
  ip: string | null;
  userAgent: string | null;
}

export const SYSTEM_CONTEXT: AuditContext = { actor: null, ip: null, userAgent: null };

export interface AuditInput {
  action: AuditAction;
  outcome: Outcome;
  /** Defaults to the taxonomy's severity for the action. */
  severity?: Severity;
  target?: { type: string; id: string } | null;
  model?: string | null;
  /** Never secrets: no passwords, tokens, keys or session ids. */
  details?: Record<string, unknown>;
}

const MAX_TEXT = 512;
/**
 * Signature data (details.assertion, details.credential: docs/presence-proofs.md) must be kept
 * byte for byte or it no longer verifies; the request schemas already cap each value at 4,096
 * characters, so these members are cut only beyond that.
 */
const PROOF_MEMBERS: ReadonlySet<string> = new Set(['assertion', 'credential']);
const MAX_PROOF_TEXT = 8_192;

/**
 * Postgres text and jsonb cannot hold NUL; long attacker-supplied strings are cut, never
 * inside a surrogate pair: half of one would be stored as U+FFFD, not the text that was
 * hashed, and the event would fail verification.
 */
function clean(value: string | null | undefined, max = MAX_TEXT): string | null {
  if (value === null || value === undefined) return null;
  return truncateText(value.replaceAll('\u0000', '\uFFFD'), max);
}

function cleanDetails(value: unknown, max = MAX_TEXT): unknown {
  if (typeof value === 'string') return clean(value, max);
  if (Array.isArray(value)) return value.map((item) => cleanDetails(item, max));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [clean(k), cleanDetails(v, max)]));
  }
  return value;
}

/** The event's details, cleaned: proof members (top level) keep their signature data whole. */
function cleanEventDetails(details: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(details).map(([k, v]) => [clean(k), cleanDetails(v, PROOF_MEMBERS.has(k) ? MAX_PROOF_TEXT : MAX_TEXT)]),
  );
}

/**
 * Appends one event to the chain. Given the client of the transaction that makes the change
 * it records, the change and its event commit or fail together; given the pool, a standalone
 * event (a denial, a model access) is group-committed with the node's other standalone events
 * (appender.ts), and the promise resolves once it has committed.
 * The chain lock serialises writers on every node, so the chain cannot fork.
 */
export async function recordAuditEvent(db: Queryable, context: AuditContext, input: AuditInput): Promise<AuditEventView> {
  const started = performance.now();
  const event = {
    time: new Date().toISOString(),
    actorId: context.actor?.id ?? null,
    actorUsername: clean(context.actor?.username),
    action: input.action,
    targetType: clean(input.target?.type),
    targetId: clean(input.target?.id),
    outcome: input.outcome,
    severity: input.severity ?? AUDIT_ACTIONS[input.action],
    ip: clean(context.ip),
    userAgent: clean(context.userAgent),
    model: clean(input.model),
    details: cleanEventDetails(input.details ?? {}),
  };
  // Canonicalised here, outside the chain lock; the database fills in seq and prev_hash.
  // seq: 0 only reserves the member's place in the sort order (chain.ts names the hashed fields).
  const canonical = canonicalJsonAround({ ...event, seq: 0 }, 'seq');
  const chained = isPool(db) ? await auditAppenderFor(db).append({ event, canonical }) : await appendAuditEvent(db, event, canonical);
  const view: AuditEventView = { seq: chained.seq, ...event, prevHash: chained.prevHash, hash: chained.hash };
  countAuditEvent(view, (performance.now() - started) / 1000);
  return view;
}
