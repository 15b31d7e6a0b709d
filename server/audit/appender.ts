/**
 * Group commit for standalone audit events (issue #24): the events that commit by themselves
 * (denials, model accesses, sign-outs: recordAuditEvent given the pool) are appended by one
 * appender per node (per pool). While one batch is being appended the next events wait in a
 * queue; when it has committed, the whole queue (up to MAX_BATCH) goes in one call of
 * audit_append_many (sql/000024, lightened by 000025): one round trip, one chain lock, one
 * commit — one WAL flush for many events instead of one each, which is what bounds appends with
 * synchronous_commit on — and one `argus_audit` notification naming the batch's seq range.
 *
 * - Order: events are appended in the order append() was called; one batch at a time.
 * - Nothing is acknowledged before it is committed: a caller's promise resolves only with the
 *   seq and hash the committed batch returned.
 * - A batch Postgres refuses (an SQL error: nothing of it committed) rejects its callers with
 *   that error. A refusal of the data (SQLSTATE class 22 or 23) is tried again event by event,
 *   so one caller's bad event cannot take the others' down with it.
 * - A connection that fails after the call was sent leaves the commit unknown: the same batch
 *   is sent again with the same batch id on a new connection, and the function returns what
 *   the first call appended if it committed, or appends it now if it did not (it takes the
 *   chain lock first, so it waits for the first call's transaction to end). Events are
 *   neither lost nor appended twice. When Postgres stays away through every attempt, the
 *   callers are rejected; their events were then either appended once or not at all.
 */
import { randomUUID } from 'node:crypto';
import { ServerBusyError } from '../auth/hashLimiter.ts';
import { appendAuditEvents, type AppendableAuditEvent } from '../db/audit.ts';
import { pgErrorCode, type Pool } from '../db/pool.ts';
import { auditAppendBatchSize } from '../metrics.ts';

/** Events one call appends at most (the function takes up to 1,000). */
export const MAX_BATCH = 500;
/** Events waiting at most; past this, a caller is refused with 503 SERVER_BUSY rather than queued without end. */
export const MAX_QUEUE = 10_000;
/** Sends of one batch whose outcome the connection left unknown (the same batch id each time). */
const ATTEMPTS = 4;
const RETRY_DELAY_MS = 50;

export interface ChainedFields {
  seq: number;
  prevHash: string;
  hash: string;
}

interface Waiting {
  appendable: AppendableAuditEvent;
  resolve: (chained: ChainedFields) => void;
  reject: (error: unknown) => void;
}

/** SQLSTATE classes that refuse an event's data: 22 data exception, 23 integrity constraint violation. */
const DATA_ERROR_CLASSES = ['22', '23'];
/** 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now; class 08 connection exception. */
const CONNECTION_LOST_CODES = new Set(['57P01', '57P02', '57P03']);

/** Postgres answered with an error: the statement, and with it the batch, did not commit. */
function refusedByPostgres(error: unknown): boolean {
  const code = pgErrorCode(error);
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('08') && !CONNECTION_LOST_CODES.has(code);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A batch id that sorts by time: a UUIDv7 (RFC 9562 §5.7), 48 bits of Unix milliseconds first.
 * Each batch's receipt goes into the index on batch_id (sql/000024); a random (v4) id lands on a
 * random leaf of it, which after each checkpoint costs a full-page image in the WAL its commit
 * must flush (up to 8 KiB: as much as the 8 events of a batch). A time-ordered id lands on the
 * index's right edge, on the page the batch before it touched.
 */
export function timeOrderedBatchId(now = Date.now()): string {
  // randomUUID draws from a cached pool: its random bits (and variant) after the version digit.
  const random = randomUUID();
  const time = now.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15)}`;
}

export class AuditAppender {
  private readonly queue: Waiting[] = [];
  private flushing = false;
  /** The millisecond in the last batch id: each next one is later, so ids sort as batches were sent. */
  private lastBatchMs = 0;

  constructor(
    private readonly pool: Pool,
    private readonly limits: { maxBatch: number; maxQueue: number } = { maxBatch: MAX_BATCH, maxQueue: MAX_QUEUE },
  ) {}

  /** Resolves with the event's chain fields once the batch holding it has committed. */
  append(appendable: AppendableAuditEvent): Promise<ChainedFields> {
    if (this.queue.length >= this.limits.maxQueue) return Promise.reject(new ServerBusyError('audit append queue full'));
    return new Promise((resolve, reject) => {
      this.queue.push({ appendable, resolve, reject });
      if (this.flushing) return;
      // Idle: start on the next turn of the event loop, not now. The callers a batch has just
      // answered append their next events in this turn; started now, the batch would hold only
      // the first of them and the rest would wait a whole commit behind it.
      this.flushing = true;
      setImmediate(() => void this.flush());
    });
  }

  /** Events waiting for a batch (for tests and metrics). */
  get waiting(): number {
    return this.queue.length;
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.limits.maxBatch);
        auditAppendBatchSize.observe(batch.length);
        try {
          settle(batch, await this.appendBatch(batch));
        } catch (error) {
          if (batch.length > 1 && DATA_ERROR_CLASSES.some((prefix) => pgErrorCode(error)?.startsWith(prefix))) {
            // One event's data was refused and nothing committed: each on its own, in order.
            for (const one of batch) await this.appendBatch([one]).then((chained) => settle([one], chained), one.reject);
          } else {
            for (const one of batch) one.reject(error);
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Appends one batch, sending it again (same id) while the connection leaves its commit unknown. */
  private async appendBatch(batch: readonly Waiting[]): Promise<ChainedFields[]> {
    // Two batches within one millisecond: the second takes the next one (random bits do not sort).
    this.lastBatchMs = Math.max(Date.now(), this.lastBatchMs + 1);
    const batchId = timeOrderedBatchId(this.lastBatchMs);
    const events = batch.map((one) => one.appendable);
    for (let attempt = 1; ; attempt += 1) {
      try {
        const chained = await appendAuditEvents(this.pool, batchId, events);
        if (chained.length !== batch.length) throw new Error(`audit_append_many returned ${chained.length} events for ${batch.length}`);
        return chained;
      } catch (error) {
        if (refusedByPostgres(error) || attempt >= ATTEMPTS) throw error;
        await sleep(RETRY_DELAY_MS * 4 ** (attempt - 1));
      }
    }
  }
}

function settle(batch: readonly Waiting[], chained: readonly ChainedFields[]): void {
  batch.forEach((one, i) => one.resolve(chained[i]!));
}

/** One appender per node, that is per pool (as export slots are counted). */
const appenders = new WeakMap<Pool, AuditAppender>();

export function auditAppenderFor(pool: Pool): AuditAppender {
  let appender = appenders.get(pool);
  if (!appender) {
    appender = new AuditAppender(pool);
    appenders.set(pool, appender);
  }
  return appender;
}
