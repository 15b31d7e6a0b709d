/**
 * Live SIEM streaming (issue #19): every audit event and every signed checkpoint, delivered
 * to each configured sink at least once and in chain order, from a durable cursor per sink
 * (sql/000017).
 *
 * Delivery runs in short transactions on the delivery's own small pool:
 *   lock the sink's cursor row (FOR UPDATE SKIP LOCKED: one node at a time delivers a sink,
 *   the others skip) → read the events and checkpoints after it → deliver them → advance the
 *   cursor → (read and deliver the next batch, for up to about a second) → commit.
 * The cursor moves only after the transport said the batch arrived, so a failure repeats
 * records (the receiver drops them by seq) and never skips one. Appends never wait on a
 * sink: delivery only reads the chain, takes no lock an append takes, and uses connections
 * of its own.
 *
 * A failed batch is tried again after an exponential backoff with full jitter, stored in the
 * cursor so that every node holds back. Between batches a node waits for the `argus_audit`
 * notification of new events (one per committed append or batch), or polls (checkpoints are not
 * notified), so lag stays low.
 */
import type { AuditCheckpoint, AuditEventView } from '../../../shared/audit.ts';
import { AUDIT_CHANNEL, listCheckpointsAscending, searchAuditEventsAscending } from '../../db/audit.ts';
import { advanceSinkCursor, ensureSinkCursors, lockSinkCursor, recordSinkFailure, withSinkTransaction, type LockedSinkCursor } from '../../db/auditSinks.ts';
import { createPool, type Pool, type PoolClient } from '../../db/pool.ts';
import type { Logger } from '../../log.ts';
import { startPgListener } from '../../realtime/pgListener.ts';
import { sinkBatchDuration, sinkCheckpointsDelivered, sinkEventsDelivered, sinkFailures } from './metrics.ts';
import { checkpointRecord, eventRecord } from './records.ts';
import type { SinkFormat, SinkRecord, SinkTransport } from './types.ts';

/** A configured sink, ready to deliver to. */
export interface SinkDefinition {
  /** Its cursor's sink_id. */
  id: string;
  /** How each record's body is written. */
  recordFormat: SinkFormat;
  /** Receives signed checkpoints only (the checkpoint file): the events are not even read. */
  checkpointsOnly: boolean;
  /** Text that must never appear in a stored or logged error (the HTTP token). */
  secrets: readonly string[];
  /** A fresh transport: on first use, and again after one stopped answering. */
  createTransport(): SinkTransport;
}

export interface DeliveryTuning {
  /** Events read per batch at most (fewer when records are large: see maxBatchBytes). */
  maxBatchRecords: number;
  /** A batch stops growing past about this many bytes of record bodies (receivers limit request sizes). */
  maxBatchBytes: number;
  maxBatchCheckpoints: number;
  /** How often a caught-up node looks again without a notification (checkpoints are not notified). */
  pollMs: number;
  /** How long a node waits after finding another node delivering the sink. */
  busyRetryMs: number;
  /** After a partial batch, notifications within this long are gathered into the next one. */
  coalesceMs: number;
  /** Backoff after the nth failure in a row: a random delay in [0, min(cap, base·2^(n−1))] ("full jitter"). */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** A transport that has not settled a batch by then has failed it (and is replaced). */
  deliveryTimeoutMs: number;
  /** Batches one transaction delivers back to back (each read while the one before is sent), at most. */
  maxBatchesPerTransaction: number;
}

export const DEFAULT_DELIVERY_TUNING: DeliveryTuning = {
  maxBatchRecords: 5_000,
  maxBatchBytes: 2 * 1024 * 1024,
  maxBatchCheckpoints: 100,
  pollMs: 1_000,
  busyRetryMs: 1_000,
  coalesceMs: 20,
  backoffBaseMs: 1_000,
  backoffCapMs: 60_000,
  deliveryTimeoutMs: 60_000,
  maxBatchesPerTransaction: 20,
};

/** Fewest events a batch reads even when records are large. */
const MIN_BATCH_RECORDS = 50;
/**
 * Events a batch reads at most while the sink's last attempt failed. A sink that is down is then
 * tried with a small batch, not thousands of events read and formatted on the node's event loop
 * for each retry (which took ~100 ms of CPU from the appends a down sink must never slow).
 */
export const SINK_PROBE_RECORDS = 50;
/** Shortest backoff: full jitter can draw ~0, which would retry in a hot loop. */
const MIN_BACKOFF_MS = 50;
/** A transaction holding a sink's cursor ends after about this long, so the cursor's progress shows (status, lag). */
const MAX_TRANSACTION_MS = 1_000;
/** How long stop() lets a batch in flight finish before closing its transport. */
const STOP_GRACE_MS = 2_000;

/** Where a record sits in the chain, so the cursor can move past it. */
type Placed = { kind: 'event'; event: AuditEventView } | { kind: 'checkpoint'; checkpoint: AuditCheckpoint & { id: number } };

/**
 * Events and checkpoints in chain order: a checkpoint for seq N right after event N. A
 * checkpoint whose event has not been read yet waits for a later batch, and so does every
 * checkpoint after it (the checkpoint cursor is a watermark by id). One committed after the
 * events it covers were delivered (the timer signed while a batch was out) goes first.
 */
export function orderBatch({
  events,
  checkpoints,
  deliveredSeq,
  checkpointsOnly,
}: {
  events: readonly AuditEventView[];
  checkpoints: ReadonlyArray<AuditCheckpoint & { id: number }>;
  deliveredSeq: number;
  checkpointsOnly: boolean;
}): Placed[] {
  if (checkpointsOnly) return checkpoints.map((checkpoint) => ({ kind: 'checkpoint', checkpoint }));
  const placed: Placed[] = [];
  let next = 0;
  const placeCheckpointsUpTo = (seq: number) => {
    while (next < checkpoints.length && checkpoints[next]!.seq <= seq) placed.push({ kind: 'checkpoint', checkpoint: checkpoints[next++]! });
  };
  placeCheckpointsUpTo(deliveredSeq);
  for (const event of events) {
    placed.push({ kind: 'event', event });
    placeCheckpointsUpTo(event.seq);
  }
  return placed;
}

/** A failure as stored and logged: one line, short, and without any of the sink's secrets. */
export function sinkErrorMessage(error: unknown, secrets: readonly string[]): string {
  let text = error instanceof Error ? error.message : String(error);
  for (const secret of secrets) if (secret) text = text.replaceAll(secret, '[redacted]');
  return text.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').trim().slice(0, 300) || 'delivery failed';
}

type BatchOutcome =
  | { kind: 'delivered'; events: number; checkpoints: number; batches: number; more: boolean; recovered: boolean }
  | { kind: 'caught-up' }
  | { kind: 'busy' }
  | { kind: 'backing-off'; waitMs: number }
  | { kind: 'failed'; error: string; failures: number; retryInMs: number }
  | { kind: 'stopped' };

class StoppedDuringBatch extends Error {}

/** A batch read and formatted, and where the cursor goes once it has arrived. */
interface ReadBatch {
  records: SinkRecord[];
  next: { deliveredSeq: number; deliveredCheckpointId: number };
  events: number;
  checkpoints: number;
  /** More records were waiting than this batch took. */
  more: boolean;
}

/** Delivers one sink: one batch at a time, scheduled by outcome, notifications and polling. */
class SinkDeliveryLoop {
  private timer: NodeJS.Timeout | null = null;
  private dueAt = Number.POSITIVE_INFINITY;
  /** Notifications count only while waiting for work, not while backing off. */
  private wakeable = false;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private cursorEnsured = false;
  private transport: SinkTransport | null = null;
  private recordsPerBatch: number;
  /** Attempts in a row that ended before reaching the sink (Postgres away): this node's own backoff. */
  private dbFailures = 0;

  constructor(
    private readonly sink: SinkDefinition,
    private readonly pool: Pool,
    private readonly log: Logger,
    private readonly tuning: DeliveryTuning,
  ) {
    this.recordsPerBatch = tuning.maxBatchRecords;
  }

  start(): void {
    this.schedule(0, true);
  }

  /** A new event was committed. */
  wake(): void {
    if (this.stopped || !this.wakeable) return;
    if (this.running) this.again = true;
    else if (this.dueAt > performance.now() + this.tuning.coalesceMs) this.schedule(this.tuning.coalesceMs, true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const inFlight = this.running;
    if (inFlight) await Promise.race([inFlight, sleep(STOP_GRACE_MS)]);
    // Closing the transport ends a batch still out; its transaction rolls back.
    await this.transport?.close().catch(() => undefined);
    this.transport = null;
    if (inFlight) await Promise.race([inFlight, sleep(STOP_GRACE_MS)]);
  }

  private schedule(ms: number, wakeable: boolean): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.wakeable = wakeable;
    this.dueAt = performance.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.dueAt = Number.POSITIVE_INFINITY;
      this.running = this.run().finally(() => (this.running = null));
    }, ms);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    this.again = false;
    this.wakeable = true;
    let outcome: BatchOutcome;
    try {
      outcome = await this.deliverBatches();
      this.dbFailures = 0;
    } catch (error) {
      if (this.stopped) return;
      // Postgres could not answer (or a record could not be written): the transaction rolled back and
      // nothing moved; look again later, backing off on this node.
      this.dbFailures += 1;
      const waitMs = this.backoff(this.dbFailures);
      this.log.warn({ sink: this.sink.id, err: sinkErrorMessage(error, this.sink.secrets), retryInMs: Math.round(waitMs) }, 'audit sink delivery interrupted');
      this.schedule(waitMs, false);
      return;
    }
    if (this.stopped) return;
    switch (outcome.kind) {
      case 'delivered':
        if (outcome.recovered) this.log.info({ sink: this.sink.id }, 'audit sink delivering again');
        if (outcome.more) this.schedule(0, true);
        else if (this.again) this.schedule(this.tuning.coalesceMs, true);
        else this.schedule(this.tuning.pollMs, true);
        return;
      case 'caught-up':
        this.schedule(this.again ? this.tuning.coalesceMs : this.tuning.pollMs, true);
        return;
      case 'busy':
        // Another node delivers this sink; if it stops, this one takes over within busyRetryMs.
        this.schedule(this.tuning.busyRetryMs, false);
        return;
      case 'backing-off':
        this.schedule(outcome.waitMs, false);
        return;
      case 'failed':
        sinkFailures.inc({ sink: this.sink.id });
        this.log.warn({ sink: this.sink.id, err: outcome.error, failures: outcome.failures, retryInMs: Math.round(outcome.retryInMs) }, 'audit sink delivery failed');
        this.schedule(outcome.retryInMs, false);
        return;
      case 'stopped':
        return;
    }
  }

  /** Metrics of one batch the sink took (counted at once: at-least-once, it did arrive). */
  private countBatch(batch: ReadBatch, ms: number): void {
    sinkBatchDuration.observe({ sink: this.sink.id }, ms / 1000);
    if (batch.events) sinkEventsDelivered.inc({ sink: this.sink.id }, batch.events);
    if (batch.checkpoints) sinkCheckpointsDelivered.inc({ sink: this.sink.id }, batch.checkpoints);
  }

  private backoff(failures: number): number {
    const ceiling = Math.min(this.tuning.backoffCapMs, this.tuning.backoffBaseMs * 2 ** Math.min(failures - 1, 30));
    return Math.max(MIN_BACKOFF_MS, Math.random() * ceiling);
  }

  /**
   * Holds the sink's cursor for up to maxBatchesPerTransaction batches (or about a second),
   * delivering one while the next is read and formatted, and moves the cursor past each as it
   * arrives. Uncommitted moves are lost if this node dies: those batches are sent again.
   */
  private async deliverBatches(): Promise<BatchOutcome> {
    if (!this.cursorEnsured) {
      await ensureSinkCursors(this.pool, [this.sink.id]);
      this.cursorEnsured = true;
    }
    // Held past the longest a transport may take, so only a node that stalled loses the lock.
    const idleLimitMs = this.tuning.deliveryTimeoutMs + 30_000;
    try {
      return await withSinkTransaction(this.pool, idleLimitMs, async (client) => {
        const cursor = await lockSinkCursor(client, this.sink.id);
        if (!cursor) return { kind: 'busy' };
        if (cursor.waitMs > 0) return { kind: 'backing-off', waitMs: cursor.waitMs };
        const started = performance.now();
        const delivered = { events: 0, checkpoints: 0, batches: 0 };
        // After a failure the sink is likely still away: try it with a small batch, and read no
        // further ahead until it has taken one (the next transaction reads full batches again).
        const probing = cursor.consecutiveFailures > 0;
        let reading: Promise<ReadBatch> | null = this.readBatch(client, cursor, probing ? Math.min(SINK_PROBE_RECORDS, this.recordsPerBatch) : this.recordsPerBatch);
        while (reading) {
          const batch: ReadBatch = await reading;
          reading = null;
          if (batch.records.length === 0) break;
          const readNext = !probing && batch.more && !this.stopped && delivered.batches + 1 < this.tuning.maxBatchesPerTransaction && performance.now() - started < MAX_TRANSACTION_MS;
          // The client is idle while the batch crosses the network: read the next one meanwhile.
          const next = readNext ? this.readBatch(client, { ...cursor, ...batch.next }, this.recordsPerBatch) : null;
          // Handled where it is awaited; this only keeps a failure on the way there from counting as unhandled.
          next?.catch(() => undefined);
          const sending = performance.now();
          try {
            await this.deliver(batch.records);
          } catch (error) {
            // Statements on one client run in order: let the read finish before the failure is written.
            await next?.catch(() => undefined);
            if (this.stopped) throw new StoppedDuringBatch();
            const failures = (delivered.batches > 0 ? 0 : cursor.consecutiveFailures) + 1;
            const retryInMs = this.backoff(failures);
            const message = sinkErrorMessage(error, this.sink.secrets);
            await recordSinkFailure(client, this.sink.id, { error: message, consecutiveFailures: failures, retryInMs });
            return { kind: 'failed', error: message, failures, retryInMs };
          }
          await advanceSinkCursor(client, this.sink.id, batch.next);
          this.countBatch(batch, performance.now() - sending);
          delivered.events += batch.events;
          delivered.checkpoints += batch.checkpoints;
          delivered.batches += 1;
          if (!next) return { kind: 'delivered', ...delivered, more: batch.more, recovered: cursor.consecutiveFailures > 0 };
          reading = next;
        }
        if (delivered.batches === 0) return { kind: 'caught-up' };
        return { kind: 'delivered', ...delivered, more: false, recovered: cursor.consecutiveFailures > 0 };
      });
    } catch (error) {
      if (error instanceof StoppedDuringBatch) return { kind: 'stopped' };
      throw error;
    }
  }

  /** The next batch after the cursor, in chain order, formatted, cut at about maxBatchBytes. */
  private async readBatch(client: PoolClient, cursor: LockedSinkCursor, limit: number): Promise<ReadBatch> {
    const { checkpointsOnly, recordFormat } = this.sink;
    const events = checkpointsOnly ? [] : await searchAuditEventsAscending(client, {}, cursor.deliveredSeq, limit);
    const checkpoints = await listCheckpointsAscending(client, cursor.deliveredCheckpointId, this.tuning.maxBatchCheckpoints);
    const placed = orderBatch({ events, checkpoints, deliveredSeq: cursor.deliveredSeq, checkpointsOnly });
    const records: SinkRecord[] = [];
    const next = { deliveredSeq: cursor.deliveredSeq, deliveredCheckpointId: cursor.deliveredCheckpointId };
    let bytes = 0;
    let eventCount = 0;
    let checkpointCount = 0;
    for (const item of placed) {
      const record = item.kind === 'event' ? eventRecord(item.event, recordFormat) : checkpointRecord(item.checkpoint, recordFormat);
      if (records.length > 0 && bytes + record.body.length + 1 > this.tuning.maxBatchBytes) break;
      bytes += record.body.length + 1;
      records.push(record);
      if (item.kind === 'event') {
        eventCount += 1;
        next.deliveredSeq = item.event.seq;
      } else {
        checkpointCount += 1;
        next.deliveredCheckpointId = item.checkpoint.id;
        // A checkpoint-only sink's lag is measured against the seq its checkpoints cover.
        if (checkpointsOnly) next.deliveredSeq = Math.max(next.deliveredSeq, item.checkpoint.seq);
      }
    }
    if (eventCount > 0) {
      // Read about as many events next time as fit in maxBatchBytes at this batch's record size.
      const perRecord = bytes / records.length;
      this.recordsPerBatch = Math.max(MIN_BATCH_RECORDS, Math.min(this.tuning.maxBatchRecords, Math.floor(this.tuning.maxBatchBytes / perRecord)));
    }
    const more = records.length < placed.length || events.length === limit || checkpoints.length === this.tuning.maxBatchCheckpoints;
    return { records, next, events: eventCount, checkpoints: checkpointCount, more };
  }

  private async deliver(records: readonly SinkRecord[]): Promise<void> {
    const transport = (this.transport ??= this.sink.createTransport());
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new Error(`the sink did not take the batch within ${this.tuning.deliveryTimeoutMs} ms`));
      }, this.tuning.deliveryTimeoutMs);
    });
    try {
      await Promise.race([transport.deliver(records), deadline]);
    } catch (error) {
      if (timedOut && this.transport === transport) {
        // A transport that hung may stay stuck: the next batch gets a new one.
        this.transport = null;
        void transport.close().catch(() => undefined);
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export interface AuditSinkDelivery {
  /** Look for new records now (a new event was committed). */
  wake(): void;
  /** Stops every sink's loop (a batch in flight finishes or is abandoned uncommitted), then the connections. */
  stop(): Promise<void>;
}

/** Where delivery hears of committed appends: a node's `argus_audit` channel (realtime/pgListener.ts SharedChannel). */
export interface AuditAppendedChannel {
  subscribe(handler: (payload: string) => void): () => void;
}

/**
 * Starts delivering every sink on this node, on a small pool of its own (one connection per sink
 * and one for the rest). New events wake it through `auditAppended`, the node's channel on its one
 * LISTEN connection (runtime.ts); started alone (tests, benchmarks), it listens on `argus_audit`
 * itself. A notification only wakes it: what to send comes from the sink's cursor.
 */
export function startAuditSinkDelivery({
  databaseUrl,
  sinks,
  log,
  tuning = {},
  auditAppended,
}: {
  databaseUrl: string;
  sinks: readonly SinkDefinition[];
  log: Logger;
  tuning?: Partial<DeliveryTuning>;
  auditAppended?: AuditAppendedChannel;
}): AuditSinkDelivery {
  const settings = { ...DEFAULT_DELIVERY_TUNING, ...tuning };
  const pool = createPool(databaseUrl, log, sinks.length + 1);
  const loops = sinks.map((sink) => new SinkDeliveryLoop(sink, pool, log, settings));
  const wake = () => {
    for (const loop of loops) loop.wake();
  };
  const unsubscribe = auditAppended?.subscribe(wake);
  const stopHearing = unsubscribe ? async () => unsubscribe() : startPgListener({ databaseUrl, log, channels: { [AUDIT_CHANNEL]: wake } });
  for (const loop of loops) loop.start();
  return {
    wake,
    async stop() {
      await stopHearing();
      await Promise.all(loops.map((loop) => loop.stop()));
      await pool.end();
    },
  };
}
