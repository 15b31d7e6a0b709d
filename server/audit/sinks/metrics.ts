/**
 * Prometheus metrics of SIEM streaming. Lag and up/down are read from the sinks' cursors in
 * Postgres at scrape time, so every node reports the deployment's state (whichever node is
 * delivering); the counters count what this node delivered.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { AuditSinkView } from '../../../shared/auditSinks.ts';
import { registry } from '../../metrics.ts';

export const sinkEventsDelivered = new Counter({
  name: 'argus_audit_sink_delivered_events_total',
  help: 'Audit events this node delivered to a SIEM sink (at-least-once: a batch retried after a failure counts again).',
  labelNames: ['sink'] as const,
  registers: [registry],
});

export const sinkCheckpointsDelivered = new Counter({
  name: 'argus_audit_sink_delivered_checkpoints_total',
  help: 'Signed checkpoints this node delivered to a SIEM sink.',
  labelNames: ['sink'] as const,
  registers: [registry],
});

export const sinkFailures = new Counter({
  name: 'argus_audit_sink_failures_total',
  help: 'Batches this node failed to deliver to a SIEM sink (each is retried later, with backoff).',
  labelNames: ['sink'] as const,
  registers: [registry],
});

export const sinkBatchDuration = new Histogram({
  name: 'argus_audit_sink_batch_duration_seconds',
  help: 'Time to deliver one batch to a SIEM sink: sending it and moving the cursor past it.',
  labelNames: ['sink'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

/** Where the gauges read each sink's status from (set while delivery runs). */
let statusSource: (() => Promise<AuditSinkView[]>) | null = null;
let cached: { at: number; statuses: Promise<AuditSinkView[]> } | null = null;

/** One read of the cursors serves all three gauges of a scrape. */
function statuses(): Promise<AuditSinkView[]> {
  if (!statusSource) return Promise.resolve([]);
  if (!cached || performance.now() - cached.at > 1_000) {
    const read: Promise<AuditSinkView[]> = statusSource().catch(() => {
      // Postgres could not answer: no series this scrape rather than stale numbers; read again next time.
      if (cached?.statuses === read) cached = null;
      return [];
    });
    cached = { at: performance.now(), statuses: read };
  }
  return cached.statuses;
}

function sinkGauge(name: string, help: string, value: (view: AuditSinkView) => number): Gauge<'sink'> {
  return new Gauge({
    name,
    help,
    labelNames: ['sink'] as const,
    registers: [registry],
    // Read from Postgres, the same on every worker: under node:cluster the figure is that, not the sum.
    aggregator: 'max',
    async collect() {
      const views = await statuses();
      this.reset();
      for (const view of views) this.set({ sink: view.id }, value(view));
    },
  });
}

export const sinkLagEvents = sinkGauge(
  'argus_audit_sink_lag_events',
  'Audit events recorded but not yet delivered to the sink (checkpoint file: events covered by checkpoints not yet written).',
  (view) => view.lagEvents,
);
export const sinkLagSeconds = sinkGauge('argus_audit_sink_lag_seconds', 'Age of the oldest audit record not yet delivered to the sink (0 when caught up).', (view) => view.lagSeconds);
export const sinkUp = sinkGauge('argus_audit_sink_up', '1 when the last delivery attempt to the sink succeeded, 0 while it is failing.', (view) => (view.consecutiveFailures === 0 ? 1 : 0));

/** Where the lag and up gauges read from: the configured sinks' statuses (null: no sink, no series). */
export function setAuditSinkStatusSource(source: (() => Promise<AuditSinkView[]>) | null): void {
  statusSource = source;
  cached = null;
}
