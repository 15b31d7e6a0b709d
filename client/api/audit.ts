import { action, json, query } from '@solidjs/router';
import {
  exportFileName,
  type AcknowledgeBreakResponse,
  type AuditListResponse,
  type ChainAlarmsResponse,
  type AuditSearch,
  type AuditSigningKeyView,
  type ChainVerification,
  type ExportFormat,
  type ExportManifest,
  type GrantProofResponse,
  type ResolvedAuditEvent,
} from '../../shared/audit.ts';
import { ApiError, request, withQuery } from './http.ts';
import { withStepUp } from './stepUp.ts';

const AUDIT_PAGE_SIZE = 50;

/** GET /api/audit/events: one page of a search, newest first, older than the keyset cursor `after`. */
export const listAuditEvents = query(
  (filter: AuditSearch, after: string | null) =>
    request<AuditListResponse>('GET', withQuery('/api/audit/events', { ...filter, after, limit: AUDIT_PAGE_SIZE })),
  'auditEvents',
);

/** GET /api/audit/events/:seq */
export const getAuditEvent = query(
  async (seq: number) => (await request<{ event: ResolvedAuditEvent }>('GET', `/api/audit/events/${seq}`)).event,
  'auditEvent',
);

/** GET /api/audit/events/:seq/proof: whether the grant behind an event was signed by its owner's key. */
export const getGrantProof = query((seq: number) => request<GrantProofResponse>('GET', `/api/audit/events/${seq}/proof`), 'auditGrantProof');

/** GET /api/audit/signing-key: the public key that signs manifests and checkpoints. */
export const getSigningKey = query(() => request<AuditSigningKeyView>('GET', '/api/audit/signing-key'), 'auditSigningKey');

/**
 * GET /api/audit/verify. An action although it reads: it runs when a reviewer asks, and its
 * submission carries the pending state and the answer.
 */
export const verifyAuditChain = action(async () => {
  const verification = await request<ChainVerification>('GET', '/api/audit/verify');
  return json(verification, { revalidate: [] });
}, 'verifyAuditChain');

/** GET /api/audit/chain-alarms: breaks the checkpoint timer found, newest first. */
export const listChainAlarms = query(
  async () => (await request<ChainAlarmsResponse>('GET', '/api/audit/chain-alarms')).alarms,
  'auditChainAlarms',
);

/**
 * POST /api/audit/chain-alarms/:id/acknowledge (auditors): the statement Argus signs. A
 * sensitive change: the server asks for a fresh key touch, and withStepUp gets one.
 */
export const acknowledgeChainBreak = action(async (alarmId: number, statement: string) => {
  const answer = await withStepUp(() =>
    request<AcknowledgeBreakResponse>('POST', `/api/audit/chain-alarms/${alarmId}/acknowledge`, { body: { statement } }),
  );
  return json(answer, { revalidate: listChainAlarms.key });
}, 'acknowledgeChainBreak');

export interface ExportProgress {
  events: number;
  expectedEvents: number;
  bytes: number;
}

export interface FinishedExport {
  exportId: string;
  fileName: string;
  /** The file to offer as a download; null when it was written straight to a file the user picked. */
  file: Blob | null;
  manifest: ExportManifest;
}

/** Where an export's bytes go as they arrive. */
export interface ExportSink {
  write(chunk: Uint8Array): Promise<void>;
  /** The export is complete: keep it. A Blob still to be offered as a download, or null when it is on disk. */
  close(type: string): Promise<Blob | null>;
  /** The export failed or was cancelled: keep nothing. */
  abort(): Promise<void>;
  /** The file's name, when the user picked it. */
  readonly pickedName: string | null;
}

type SaveFilePicker = (options: { suggestedName: string; id?: string }) => Promise<FileSystemFileHandle>;

/**
 * Streams the export into a file the user picks (the File System Access API: Chromium), so a
 * range of any size is written in constant memory. The browser writes to a temporary file and
 * puts it in place only on close, so an export cut short leaves nothing behind. Null where the
 * browser has no file picker; a cancelled picker rejects with an AbortError.
 * Must be called straight from the click (the picker needs the user's gesture).
 */
export async function pickExportFile(suggestedName: string): Promise<ExportSink | null> {
  const picker = (window as unknown as { showSaveFilePicker?: SaveFilePicker }).showSaveFilePicker;
  if (typeof picker !== 'function') return null;
  const handle = await picker({ suggestedName, id: 'argus-audit-export' });
  const writable = await handle.createWritable();
  return {
    pickedName: handle.name,
    write: (chunk) => writable.write(chunk as Uint8Array<ArrayBuffer>),
    close: async () => {
      await writable.close();
      return null;
    },
    abort: () => writable.abort().catch(() => undefined),
  };
}

/** Keeps the export in memory, to be offered as a download at the end: browsers without a file picker. */
export function memoryExportSink(): ExportSink {
  const chunks: Uint8Array[] = [];
  return {
    pickedName: null,
    write: async (chunk) => {
      chunks.push(chunk);
    },
    close: async (type) => new Blob(chunks as BlobPart[], { type }),
    abort: async () => {
      chunks.length = 0;
    },
  };
}

/** Lines are whole records in every format but CSV's header; counting newlines counts events. */
function countNewlines(chunk: Uint8Array): number {
  let count = 0;
  for (const byte of chunk) if (byte === 0x0a) count += 1;
  return count;
}

/**
 * POST /api/audit/exports, read as it streams (progress after every chunk), then
 * GET /api/audit/exports/:id/manifest. Refusals before the stream starts are ApiErrors;
 * a stream cut short rejects, so a partial file is never offered as complete.
 */
export async function exportAuditEvents(
  { format, filter }: { format: ExportFormat; filter: AuditSearch },
  { signal, onProgress, sink }: { signal: AbortSignal; onProgress: (progress: ExportProgress) => void; sink: ExportSink },
): Promise<FinishedExport> {
  try {
    return await streamExportInto(sink, { format, filter }, { signal, onProgress });
  } catch (error) {
    await sink.abort();
    throw error;
  }
}

async function streamExportInto(
  sink: ExportSink,
  { format, filter }: { format: ExportFormat; filter: AuditSearch },
  { signal, onProgress }: { signal: AbortSignal; onProgress: (progress: ExportProgress) => void },
): Promise<FinishedExport> {
  let response: Response;
  try {
    response = await fetch('/api/audit/exports', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: '*/*' },
      body: JSON.stringify({ format, filter }),
      signal,
    });
  } catch (cause) {
    if (signal.aborted) throw cause;
    throw new ApiError({ code: 'SERVICE_UNAVAILABLE', status: 0, message: 'Cannot reach Argus. Check your connection and try again.', cause });
  }
  if (!response.ok || !response.body) {
    // The JSON error shape, read and mapped by the one request() path.
    const answer = await response.json().catch(() => null);
    const error = (answer as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError({
      code: (error?.code as ApiError['code']) ?? 'INTERNAL',
      status: response.status,
      message: error?.message ?? `The export failed (HTTP ${response.status}).`,
    });
  }
  const exportId = response.headers.get('X-Argus-Export-Id') ?? '';
  const expectedEvents = Number(response.headers.get('X-Argus-Export-Events') ?? 0);
  const fileName = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') ?? '')?.[1] ?? exportFileName({ format, from: filter.from, to: filter.to });
  const headerLines = format === 'csv' ? 1 : 0;

  let bytes = 0;
  let lines = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await sink.write(value);
      bytes += value.byteLength;
      lines += countNewlines(value);
      onProgress({ events: Math.max(0, lines - headerLines), expectedEvents, bytes });
    }
  } catch (cause) {
    if (signal.aborted) throw cause;
    throw new ApiError({ code: 'SERVICE_UNAVAILABLE', status: 0, message: 'The export was cut off before it finished. Nothing was saved; try again.', cause });
  }
  const manifest = await request<ExportManifest>('GET', `/api/audit/exports/${exportId}/manifest`, { signal });
  const file = await sink.close(response.headers.get('Content-Type') ?? 'application/octet-stream');
  return { exportId, fileName: sink.pickedName ?? fileName, file, manifest };
}

/** Offers `blob` to the browser as a download named `fileName`. */
export function saveFile(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
