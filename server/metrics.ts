import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AuditEventView } from '../shared/audit.ts';

/**
 * Prometheus metrics for this process (one Argus node per process in production). Names
 * follow Prometheus conventions: `argus_…_total` counters, `_seconds` durations. Domain code
 * calls the helpers below; nothing here knows about Express or Redis.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'argus_' });

export const httpDuration = new Histogram({
  name: 'argus_http_request_duration_seconds',
  help: 'HTTP request duration by route pattern and status (streams: until the stream ends).',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const wsConnectionsActive = new Gauge({
  name: 'argus_ws_connections_active',
  help: 'Open WebSocket connections by kind (browser, detector).',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const wsConnectionsTotal = new Counter({
  name: 'argus_ws_connections_total',
  help: 'WebSocket connections accepted, by kind.',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const wsMessages = new Counter({
  name: 'argus_ws_messages_total',
  help: 'WebSocket messages by kind and direction (in, out).',
  labelNames: ['kind', 'direction'] as const,
  registers: [registry],
});

export const sessionCacheReads = new Counter({
  name: 'argus_session_cache_reads_total',
  help: 'Session reads by how they were answered: hit (node memory), miss (Redis, then kept), bypassed (Redis: the cache is off while tracking is down).',
  labelNames: ['result'] as const,
  registers: [registry],
});

export const rateLimitHits = new Counter({
  name: 'argus_rate_limit_hits_total',
  help: 'Requests refused by a limiter, by limiter (the refusal code and where: a route pattern or ws).',
  labelNames: ['limiter', 'route'] as const,
  registers: [registry],
});

export const signIns = new Counter({
  name: 'argus_signins_total',
  help: 'Sign-in steps by outcome (password_ok, success, bad_password, unknown_user, account_disabled, …).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const webauthnVerifications = new Counter({
  name: 'argus_webauthn_verifications_total',
  help: 'WebAuthn assertion and registration verifications by ceremony and outcome.',
  labelNames: ['ceremony', 'outcome'] as const,
  registers: [registry],
});

export const grantsIssued = new Counter({
  name: 'argus_grants_issued_total',
  help: 'Model grants issued (a renewal counts as a new grant).',
  registers: [registry],
});

export const grantsEnded = new Counter({
  name: 'argus_grants_ended_total',
  help: 'Model grants ended, by reason (expired, key_removed, session_ended, replaced, …).',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const grantsActive = new Gauge({
  name: 'argus_grants_active',
  help: 'Grants live right now (all nodes; read from Redis at scrape time).',
  registers: [registry],
  // Under node:cluster every worker reads the same number: the cluster's figure is that, not the sum.
  aggregator: 'max',
  async collect() {
    if (activeGrantsSource) this.set(await activeGrantsSource().catch(() => Number.NaN));
  },
});

export const restrictedRequests = new Counter({
  name: 'argus_restricted_model_requests_total',
  help: 'Requests for a restricted model, by outcome (allowed, denied).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const streamsCut = new Counter({
  name: 'argus_restricted_streams_cut_total',
  help: 'Restricted answers cut off because the grant ended, by reason.',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const dbTransactionRetries = new Counter({
  name: 'argus_db_transaction_retries_total',
  help: 'Transactions run again after Postgres ended them as a deadlock victim (40P01) or a serialization failure (40001). Should stay at zero: every transaction takes its locks in one order (docs/locking.md).',
  labelNames: ['code'] as const,
  registers: [registry],
});

export const auditAppendDuration = new Histogram({
  name: 'argus_audit_append_duration_seconds',
  help: 'Time to append one event to the audit chain (lock, head, hash, insert).',
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  registers: [registry],
});

export const auditAppendBatchSize = new Histogram({
  name: 'argus_audit_append_batch_size',
  help: 'Standalone audit events appended per group commit (server/audit/appender.ts).',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 500],
  registers: [registry],
});

export const auditEvents = new Counter({
  name: 'argus_audit_events_total',
  help: 'Audit events appended, by action and outcome.',
  labelNames: ['action', 'outcome'] as const,
  registers: [registry],
});

let activeGrantsSource: (() => Promise<number>) | null = null;

/** Where the active-grants gauge reads from (the node's GrantService). */
export function setActiveGrantsSource(source: (() => Promise<number>) | null): void {
  activeGrantsSource = source;
}

/** Counts what an appended audit event says about sign-ins and restricted models. */
export function countAuditEvent(event: Pick<AuditEventView, 'action' | 'outcome' | 'details'>, seconds: number): void {
  auditAppendDuration.observe(seconds);
  auditEvents.inc({ action: event.action, outcome: event.outcome });
  const reason = typeof event.details.reason === 'string' ? event.details.reason : null;
  switch (event.action) {
    case 'auth.password_verified':
      signIns.inc({ outcome: 'password_ok' });
      break;
    case 'auth.signin':
      signIns.inc({ outcome: 'success' });
      break;
    case 'auth.signin_failed':
      signIns.inc({ outcome: reason ?? 'failed' });
      break;
    case 'model.access':
      restrictedRequests.inc({ outcome: 'allowed' });
      break;
    case 'grant.denied':
      restrictedRequests.inc({ outcome: 'denied' });
      break;
    case 'model.stream_cut':
      streamsCut.inc({ reason: reason ?? 'unknown' });
      break;
  }
}

/** The text exposition of every metric, and its content type. */
export async function exposition(): Promise<{ contentType: string; body: string }> {
  if (clusterExposition) return clusterExposition();
  return { contentType: registry.contentType, body: await registry.metrics() };
}

let clusterExposition: (() => Promise<{ contentType: string; body: string }>) | null = null;

/** Under ARGUS_WORKERS > 1: the whole cluster's metrics, summed over the workers by the primary (server/cluster.ts). */
export function setClusterExposition(source: (() => Promise<{ contentType: string; body: string }>) | null): void {
  clusterExposition = source;
}

let auditOutboxSource: (() => Promise<number>) | null = null;

/** Audit records waiting in Redis for Postgres (docs/deploy.md §6): 0 whenever Postgres is up. */
export const auditOutboxPending = new Gauge({
  name: 'argus_audit_outbox_pending',
  help: 'Audit records queued in the Redis outbox, not yet appended to the chain (all nodes; read at scrape time).',
  registers: [registry],
  aggregator: 'max',
  async collect() {
    if (auditOutboxSource) this.set(await auditOutboxSource().catch(() => Number.NaN));
  },
});

/** Where the audit-outbox gauge reads from (the node's AuditOutbox). */
export function setAuditOutboxSource(source: (() => Promise<number>) | null): void {
  auditOutboxSource = source;
}
