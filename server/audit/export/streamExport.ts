import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { AuditEventView, ExportFormat, ExportManifest } from '../../../shared/audit.ts';
import { searchAuditEventsAscending, type AuditWhere } from '../../db/audit.ts';
import type { Queryable } from '../../db/pool.ts';
import { ExportPresenceTally } from '../grantProof.ts';
import { EXPORT_WRITERS } from './formats.ts';

/** Rows read per query: large enough to amortise the round trip, small enough to keep memory flat. */
export const EXPORT_BATCH = 5_000;

/**
 * A batch's records, turned into UTF-8 every ENCODE_EVERY UTF-16 units, into one buffer sized
 * from the batch before. A batch's text held as one string until the end outlives
 * young-generation collections, piece by piece, and each one copies it; encoded early, it dies
 * young. OCSF, whose records are the largest, took a third less CPU per event for it.
 */
const ENCODE_EVERY = 64 * 1024;

export class BatchBytes {
  private bytes: Buffer;
  private length = 0;
  private text = '';

  constructor(expectedBytes: number) {
    this.bytes = Buffer.allocUnsafe(expectedBytes);
  }

  add(record: string): void {
    this.text += record;
    if (this.text.length >= ENCODE_EVERY) this.encode();
  }

  /** The batch's bytes (a view of the buffer: a new BatchBytes for the next batch). */
  finish(): Buffer {
    this.encode();
    return this.bytes.subarray(0, this.length);
  }

  private encode(): void {
    if (this.text === '') return;
    // UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2).
    const needed = this.length + 3 * this.text.length;
    if (needed > this.bytes.length) {
      const larger = Buffer.allocUnsafe(Math.max(needed, 2 * this.bytes.length));
      this.bytes.copy(larger, 0, 0, this.length);
      this.bytes = larger;
    }
    this.length += this.bytes.write(this.text, this.length, 'utf8');
    this.text = '';
  }
}

export class ExportAborted extends Error {
  override name = 'ExportAborted';
}

/** What an export wrote: the manifest's fields that describe the file. */
export type ExportSummary = Pick<ExportManifest, 'eventCount' | 'firstSeq' | 'lastSeq' | 'prevHash' | 'lastHash' | 'fileSha256' | 'fileBytes' | 'presence'>;

/** Writes `chunk`; when the sink's buffer is full, waits for it to drain (or to close). */
function write(sink: Writable, chunk: Buffer): Promise<void> {
  if (sink.destroyed || sink.writableEnded) return Promise.reject(new ExportAborted('the client went away'));
  if (sink.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      sink.off('drain', onDrain);
      sink.off('close', onClose);
    };
    const onDrain = () => {
      done();
      resolve();
    };
    const onClose = () => {
      done();
      reject(new ExportAborted('the client went away'));
    };
    sink.on('drain', onDrain);
    sink.on('close', onClose);
  });
}

/**
 * Streams every event `where` selects, in chain order, into `sink` in `format`. Reads in
 * keyset batches and waits for the sink to drain before reading more, so memory stays
 * flat however large the range. Hashes the bytes as they go out, for the manifest.
 * Does not end the sink. `onProgress` is told after every batch.
 */
export async function streamAuditExport({
  db,
  sink,
  format,
  where,
  onProgress,
}: {
  db: Queryable;
  sink: Writable;
  format: ExportFormat;
  where: AuditWhere;
  onProgress?: (events: number, bytes: number) => void;
}): Promise<ExportSummary> {
  const writer = EXPORT_WRITERS[format];
  const sha256 = createHash('sha256');
  let fileBytes = 0;
  const emit = async (chunk: Buffer) => {
    if (chunk.length === 0) return;
    sha256.update(chunk);
    fileBytes += chunk.length;
    await write(sink, chunk);
  };

  let first: AuditEventView | null = null;
  let last: AuditEventView | null = null;
  let eventCount = 0;
  // How many grants the file holds and how many Argus proved (the manifest's `presence`).
  const presence = new ExportPresenceTally(db);
  let lastBatchBytes = 0;
  await emit(Buffer.from(writer.header, 'utf8'));
  // Keyset on seq from just before the range; one batch is read ahead while the last one
  // is formatted and written, so the database and this process work at the same time.
  const fetchAfter = (afterSeq: number) => searchAuditEventsAscending(db, where, afterSeq, EXPORT_BATCH);
  let pending: Promise<AuditEventView[]> | null = fetchAfter(Math.max(0, (where.fromSeq ?? 1) - 1));
  while (pending) {
    const batch: AuditEventView[] = await pending;
    pending = null;
    if (batch.length === 0) break;
    last = batch[batch.length - 1]!;
    if (batch.length === EXPORT_BATCH) pending = fetchAfter(last.seq);
    // Room for a batch like the last one, and for the text not yet encoded.
    const bytes = new BatchBytes(lastBatchBytes + 4 * ENCODE_EVERY);
    for (const event of batch) {
      bytes.add(writer.record(event));
      if (ExportPresenceTally.concerns(event)) {
        const proving = presence.add(event);
        if (proving) await proving;
      }
    }
    const chunk = bytes.finish();
    lastBatchBytes = chunk.length;
    try {
      await emit(chunk);
    } catch (error) {
      // Nobody will read ahead any more; settle the read so it cannot reject unobserved.
      pending?.catch(() => undefined);
      throw error;
    }
    first ??= batch[0]!;
    eventCount += batch.length;
    onProgress?.(eventCount, fileBytes);
  }
  return {
    eventCount,
    firstSeq: first?.seq ?? null,
    lastSeq: last?.seq ?? null,
    prevHash: first?.prevHash ?? null,
    lastHash: last?.hash ?? null,
    fileSha256: sha256.digest('hex'),
    fileBytes,
    presence: presence.summary,
  };
}
