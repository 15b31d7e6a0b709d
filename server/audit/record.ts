import { AUDIT_ACTIONS, type AuditAction, type AuditEventView, type Outcome, type Severity } from '../../shared/audit.ts';
import { insertAuditEvent, lockAuditChainAndReadHead } from '../db/audit.ts';
import type { PoolClient } from '../db/pool.ts';
import { GENESIS_HASH, eventHash } from './chain.ts';
import { countAuditEvent } from '../metrics.ts';

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

/** Postgres text and jsonb cannot hold NUL; long attacker-supplied strings are cut. */
function clean(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return value.replaceAll('\u0000', '\uFFFD').slice(0, MAX_TEXT);
}

function cleanDetails(value: unknown): unknown {
  if (typeof value === 'string') return clean(value);
  if (Array.isArray(value)) return value.map(cleanDetails);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [clean(k), cleanDetails(v)]));
  }
  return value;
}

/**
 * Appends one event to the chain. Must be called inside the transaction that makes the
 * change it records, so that the change and its audit event commit or fail together.
 * The advisory lock serialises writers on every node, so the chain cannot fork.
 */
export async function recordAuditEvent(client: PoolClient, context: AuditContext, input: AuditInput): Promise<AuditEventView> {
  const started = performance.now();
  const head = await lockAuditChainAndReadHead(client);
  const prevHash = head?.hash ?? GENESIS_HASH;
  const event = {
    seq: (head?.seq ?? 0) + 1,
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
    details: cleanDetails(input.details ?? {}) as Record<string, unknown>,
  };
  const view: AuditEventView = { ...event, prevHash, hash: eventHash(prevHash, event) };
  await insertAuditEvent(client, view);
  countAuditEvent(view, (performance.now() - started) / 1000);
  return view;
}
