import type { Severity } from '../../../shared/audit.ts';

/** The body format a sink writes each record in (the same writers as the exports). */
export type SinkFormat = 'jsonl' | 'cef' | 'ocsf';

/**
 * One record on its way to a sink: an audit event (carrying its chain `seq`, so a receiver
 * can drop duplicates of an at-least-once delivery) or a signed checkpoint.
 */
export interface SinkRecord {
  kind: 'event' | 'checkpoint';
  /** The event's seq, or for a checkpoint the seq of the chain head it signs. */
  seq: number;
  /** ISO 8601: the event's time, or the checkpoint's. */
  time: string;
  severity: Severity;
  /** The record's body, one line without a line break, in the sink's format. */
  body: string;
}

/**
 * How records leave Argus for one sink. `deliver` resolves once the receiver has the whole
 * batch (as far as the protocol can tell), in order, and rejects if any of it may be lost:
 * the caller then retries the whole batch later (delivery is at-least-once).
 */
export interface SinkTransport {
  deliver(records: readonly SinkRecord[]): Promise<void>;
  close(): Promise<void>;
}
