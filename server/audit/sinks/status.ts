import { AUDIT_SINK_DOWN_AFTER_FAILURES, type AuditSinkState, type AuditSinkView } from '../../../shared/auditSinks.ts';
import { readSinkProgress, type SinkProgressRow } from '../../db/auditSinks.ts';
import type { Queryable } from '../../db/pool.ts';
import { sinkFormatLabel, sinkTarget, type AuditSinkConfig } from './sinkConfig.ts';

/** One cursor per sink kind (at most one sink of each kind is configured). */
export const sinkIdOf = (sink: AuditSinkConfig): string => sink.kind;

export function sinkState(consecutiveFailures: number): AuditSinkState {
  if (consecutiveFailures === 0) return 'delivering';
  return consecutiveFailures >= AUDIT_SINK_DOWN_AFTER_FAILURES ? 'down' : 'retrying';
}

/** How far behind a sink is: events and the age of its oldest undelivered record. */
function lagOf(sink: AuditSinkConfig, row: SinkProgressRow): { lagEvents: number; lagSeconds: number } {
  if (sink.kind === 'checkpoint-file') {
    // It receives checkpoints only: behind by the events that signed checkpoints not yet in the file cover.
    const pending = row.newestPendingCheckpointSeq;
    return { lagEvents: pending === null ? 0 : Math.max(0, pending - row.deliveredSeq), lagSeconds: row.oldestPendingCheckpointAge ?? 0 };
  }
  return {
    lagEvents: Math.max(0, row.headSeq - row.deliveredSeq),
    lagSeconds: Math.max(row.oldestPendingEventAge ?? 0, row.oldestPendingCheckpointAge ?? 0),
  };
}

/** Every configured sink as the audit page and GET /api/audit/sinks show it: read from its cursor, the same on every node. */
export async function readAuditSinkStatuses(db: Queryable, sinks: readonly AuditSinkConfig[]): Promise<AuditSinkView[]> {
  if (sinks.length === 0) return [];
  const rows = await readSinkProgress(db, sinks.map(sinkIdOf));
  return sinks.map((sink, index) => {
    const row = rows[index]!;
    return {
      id: row.sinkId,
      kind: sink.kind,
      target: sinkTarget(sink),
      format: sinkFormatLabel(sink),
      state: sinkState(row.consecutiveFailures),
      ...lagOf(sink, row),
      lastDeliveredSeq: row.deliveredSeq,
      lastDeliveredAt: row.deliveredAt?.toISOString() ?? null,
      lastError: row.lastError,
      lastErrorAt: row.lastErrorAt?.toISOString() ?? null,
      consecutiveFailures: row.consecutiveFailures,
      nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
    };
  });
}
