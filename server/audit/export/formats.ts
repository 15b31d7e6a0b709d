import { EXPORT_FILE_EXTENSIONS, type AuditEventView, type ExportFormat, type Severity } from '../../../shared/audit.ts';
import { canonicalJson } from '../canonicalJson.ts';
import { toOcsf } from './ocsf.ts';

/** How one export format writes a file: an optional header, then one record per event. */
export interface ExportFormatWriter {
  contentType: string;
  extension: string;
  header: string;
  record(event: AuditEventView): string;
}

/**
 * One event as RFC 8785 JSON, the same bytes as canonicalJson(event) but without sorting
 * its fixed members every time (members written in their canonical order; only `details`
 * goes through the general serialiser). Exports write millions of these.
 */
export function eventJson(e: AuditEventView): string {
  const s = JSON.stringify;
  return (
    `{"action":${s(e.action)},"actorId":${s(e.actorId)},"actorUsername":${s(e.actorUsername)},"details":${canonicalJson(e.details)},` +
    `"hash":${s(e.hash)},"ip":${s(e.ip)},"model":${s(e.model)},"outcome":${s(e.outcome)},"prevHash":${s(e.prevHash)},"seq":${s(e.seq)},` +
    `"severity":${s(e.severity)},"targetId":${s(e.targetId)},"targetType":${s(e.targetType)},"time":${s(e.time)},"userAgent":${s(e.userAgent)}}`
  );
}

/** JSON Lines: every hashed member plus prevHash and hash, as RFC 8785 JSON, one per line. */
const jsonl: ExportFormatWriter = {
  contentType: 'application/jsonl; charset=utf-8',
  extension: EXPORT_FILE_EXTENSIONS.jsonl,
  header: '',
  record: (event) => `${eventJson(event)}\n`,
};

// CSV (RFC 4180) ------------------------------------------------------------------------

const CSV_COLUMNS = [
  'seq',
  'time',
  'actor_id',
  'actor_username',
  'action',
  'target_type',
  'target_id',
  'outcome',
  'severity',
  'ip',
  'user_agent',
  'model',
  'details',
  'prev_hash',
  'hash',
] as const;

/**
 * One RFC 4180 field: quoted when it holds a comma, quote, CR or LF, quotes doubled. Text
 * a spreadsheet would run as a formula (= + - @ tab CR at the start) gets a leading
 * apostrophe (OWASP CSV injection); such values come from clients, never from Argus.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const csv: ExportFormatWriter = {
  contentType: 'text/csv; charset=utf-8; header=present',
  extension: EXPORT_FILE_EXTENSIONS.csv,
  header: `${CSV_COLUMNS.join(',')}\r\n`,
  record: (e) =>
    `${[
      e.seq,
      e.time,
      e.actorId,
      e.actorUsername,
      e.action,
      e.targetType,
      e.targetId,
      e.outcome,
      e.severity,
      e.ip,
      e.userAgent,
      e.model,
      canonicalJson(e.details),
      e.prevHash,
      e.hash,
    ]
      .map(csvField)
      .join(',')}\r\n`,
};

// CEF (ArcSight Common Event Format, revision 25) ------------------------------------------

/** CEF severity 0-10 for ours. */
export const CEF_SEVERITY: Record<Severity, number> = { info: 1, low: 3, medium: 5, high: 8, critical: 10 };

/** Header fields escape backslash and pipe; line breaks would end the record, so they become spaces. */
const cefHeader = (text: string) =>
  /[\\|\r\n]/.test(text) ? text.replaceAll('\\', '\\\\').replaceAll('|', '\\|').replace(/[\r\n]+/g, ' ') : text;
/** Extension values escape backslash and equals; CR and LF are written as \r and \n. */
const cefValue = (text: string) =>
  !/[\\=\r\n]/.test(text) ? text : text.replaceAll('\\', '\\\\').replaceAll('=', '\\=').replaceAll('\r', '\\r').replaceAll('\n', '\\n');

const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

function cefRecord(e: AuditEventView): string {
  const extension: Array<[string, string | number | null]> = [
    ['rt', Date.parse(e.time)],
    ['externalId', e.seq],
    ['act', e.action],
    ['outcome', e.outcome],
    ['suid', e.actorId],
    ['suser', e.actorUsername],
    // src takes an IPv4 address; IPv6 goes in c6a2.
    [IPV4.test(e.ip ?? '') ? 'src' : 'c6a2', e.ip],
    ['requestClientApplication', e.userAgent],
    ['cs1Label', 'targetType'],
    ['cs1', e.targetType],
    ['cs2Label', 'targetId'],
    ['cs2', e.targetId],
    ['cs3Label', 'model'],
    ['cs3', e.model],
    ['cs4Label', 'details'],
    ['cs4', canonicalJson(e.details)],
    ['cs5Label', 'prevHash'],
    ['cs5', e.prevHash],
    ['cs6Label', 'hash'],
    ['cs6', e.hash],
  ];
  const pairs = extension.filter(([, value]) => value !== null && value !== '').map(([key, value]) => `${key}=${cefValue(String(value))}`);
  const header = ['CEF:0', 'Argus', 'Argus', '0.1.0', e.action, e.action, String(CEF_SEVERITY[e.severity])].map((field, i) => (i === 0 ? field : cefHeader(field)));
  return `${header.join('|')}|${pairs.join(' ')}\n`;
}

const cef: ExportFormatWriter = {
  contentType: 'text/plain; charset=utf-8',
  extension: EXPORT_FILE_EXTENSIONS.cef,
  header: '',
  record: cefRecord,
};

/** OCSF 1.3 events as JSON Lines. */
const ocsf: ExportFormatWriter = {
  contentType: 'application/jsonl; charset=utf-8',
  extension: EXPORT_FILE_EXTENSIONS.ocsf,
  header: '',
  record: (event) => `${JSON.stringify(toOcsf(event))}\n`,
};

export const EXPORT_WRITERS: Record<ExportFormat, ExportFormatWriter> = { jsonl, csv, cef, ocsf };
