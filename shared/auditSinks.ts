/**
 * Live SIEM streaming: the sinks an operator configured and how far each has got
 * (GET /api/audit/sinks). See docs/deploy.md "Streaming the audit log to a SIEM".
 */

export const AUDIT_SINK_KINDS = ['syslog', 'http', 'checkpoint-file'] as const;
export type AuditSinkKind = (typeof AUDIT_SINK_KINDS)[number];

/**
 * - delivering: the last attempt reached the sink (it may be caught up or catching up);
 * - retrying: the last attempts failed, delivery is backing off and will try again;
 * - down: AUDIT_SINK_DOWN_AFTER_FAILURES attempts in a row failed (it still tries, less often).
 */
export const AUDIT_SINK_STATES = ['delivering', 'retrying', 'down'] as const;
export type AuditSinkState = (typeof AUDIT_SINK_STATES)[number];

/** After this many failed attempts in a row a sink counts as down rather than retrying. */
export const AUDIT_SINK_DOWN_AFTER_FAILURES = 5;

export interface AuditSinkView {
  /** The cursor's name; one sink per kind. */
  id: string;
  kind: AuditSinkKind;
  /** Where records go: host:port for syslog and HTTP (never a path, query or token), the file's path. */
  target: string;
  /** The body format (syslog: jsonl, cef or ocsf; HTTP: its envelope and record format; the file: jsonl). */
  format: string;
  state: AuditSinkState;
  /**
   * Events recorded but not yet delivered; for the checkpoint file, the events covered by
   * signed checkpoints not yet written to it.
   */
  lagEvents: number;
  /** How old the oldest undelivered record is, in seconds (0 when caught up). */
  lagSeconds: number;
  /** Every event up to this seq has been delivered (0: none yet). */
  lastDeliveredSeq: number;
  /** When a batch last reached the sink (ISO 8601), null if never. */
  lastDeliveredAt: string | null;
  /** The last failure, without secrets; kept after a recovery, with its time. */
  lastError: string | null;
  lastErrorAt: string | null;
  consecutiveFailures: number;
  /** While backing off: the earliest time any node tries again. */
  nextAttemptAt: string | null;
}

/** GET /api/audit/sinks */
export interface AuditSinkListResponse {
  sinks: AuditSinkView[];
}
