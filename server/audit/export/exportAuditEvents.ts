import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { exportFileName, type AuditSearch, type ExportFormat, type ExportManifest } from '../../../shared/audit.ts';
import { countAuditEvents, getAuditChainHead, getLatestCheckpoint, seqRangeOf, type AuditWhere } from '../../db/audit.ts';
import type { Pool } from '../../db/pool.ts';
import { ServerBusyError } from '../../auth/hashLimiter.ts';
import { signManifest } from '../manifest.ts';
import { recordAuditEvent, type AuditContext } from '../record.ts';
import type { AuditSigner } from '../signingKey.ts';
import { EXPORT_WRITERS } from './formats.ts';
import { streamAuditExport } from './streamExport.ts';

/** How long a finished export's manifest can be fetched. */
export const MANIFEST_TTL_SECONDS = 24 * 3600;
const manifestKey = (exportId: string) => `audit-manifest:${exportId}`;

/**
 * Exports one node runs at once. Each keeps the database busy for as long as its client
 * reads, so an auditor (or a stolen auditor session) cannot pile them up.
 */
export const MAX_CONCURRENT_EXPORTS = 4;
const runningExports = new WeakMap<Pool, number>();

/** Takes an export slot on this node (keyed by its pool) or throws ServerBusyError (503). Returns the release. */
export function claimExportSlot(pool: Pool): () => void {
  const running = runningExports.get(pool) ?? 0;
  if (running >= MAX_CONCURRENT_EXPORTS) throw new ServerBusyError('too many audit exports running');
  runningExports.set(pool, running + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    runningExports.set(pool, (runningExports.get(pool) ?? 1) - 1);
  };
}

/** Filters other than a time range pick events out of the chain, so the export is not one segment. */
const NON_RANGE_FILTERS = ['actor', 'action', 'target', 'outcome', 'severity', 'model'] as const;

export interface PreparedExport {
  exportId: string;
  format: ExportFormat;
  where: AuditWhere & { fromSeq: number | null; toSeq: number | null };
  contiguous: boolean;
  /** How many events the export will hold (for progress). */
  expectedEvents: number;
  fileName: string;
  contentType: string;
}

/**
 * Fixes what an export covers and records that it happened. The range is pinned to the
 * chain head now (a time range resolves to a seq range), so the file is a consistent
 * snapshot that does not include its own `audit.export` event.
 */
export async function prepareExport({
  pool,
  context,
  format,
  filter,
}: {
  pool: Pool;
  context: AuditContext;
  format: ExportFormat;
  filter: AuditSearch;
}): Promise<PreparedExport> {
  const exportId = randomUUID();
  const head = await getAuditChainHead(pool);
  const range = head ? await seqRangeOf(pool, { from: filter.from, to: filter.to, headSeq: head.seq }) : null;
  // Nothing in range: bounds that select nothing, recorded as null.
  const where = { ...filter, fromSeq: range?.fromSeq ?? null, toSeq: range?.toSeq ?? null };
  const expectedEvents = range ? await countAuditEvents(pool, where) : 0;
  const contiguous = NON_RANGE_FILTERS.every((name) => filter[name] === undefined);
  await recordAuditEvent(pool, context, {
    action: 'audit.export',
    outcome: 'success',
    target: { type: 'audit_export', id: exportId },
    details: { format, filter: where, expectedEvents },
  });
  const writer = EXPORT_WRITERS[format];
  return {
    exportId,
    format,
    where,
    contiguous,
    expectedEvents,
    fileName: exportFileName({ format, from: filter.from, to: filter.to }),
    contentType: writer.contentType,
  };
}

/** Streams a prepared export into `sink`, then signs its manifest and keeps it for the exporter. */
export async function runExport({
  pool,
  redis,
  signer,
  prepared,
  sink,
  exporter,
}: {
  pool: Pool;
  redis: Redis;
  signer: AuditSigner;
  prepared: PreparedExport;
  sink: Writable;
  exporter: { id: string; username: string };
}): Promise<ExportManifest> {
  const { where } = prepared;
  // An empty range must select nothing rather than everything.
  const bounded = where.fromSeq === null ? { ...where, fromSeq: 1, toSeq: 0 } : where;
  const summary = await streamAuditExport({ db: pool, sink, format: prepared.format, where: bounded });
  const checkpoint =
    summary.firstSeq !== null && summary.lastSeq !== null ? await getLatestCheckpoint(pool, { minSeq: summary.firstSeq, maxSeq: summary.lastSeq }) : null;
  const manifest = signManifest(signer, {
    type: 'argus.audit.export-manifest',
    version: 1,
    exportId: prepared.exportId,
    format: prepared.format,
    filter: where,
    contiguous: prepared.contiguous,
    ...summary,
    exportedAt: new Date().toISOString(),
    exporter,
    checkpoint,
  });
  await redis.set(manifestKey(prepared.exportId), JSON.stringify({ exporterId: exporter.id, manifest }), 'EX', MANIFEST_TTL_SECONDS);
  return manifest;
}

/** The manifest of a finished export, only for the person who made it. */
export async function getExportManifest(redis: Redis, exportId: string, userId: string): Promise<ExportManifest | null> {
  const stored = await redis.get(manifestKey(exportId));
  if (!stored) return null;
  const { exporterId, manifest } = JSON.parse(stored) as { exporterId: string; manifest: ExportManifest };
  return exporterId === userId ? manifest : null;
}
