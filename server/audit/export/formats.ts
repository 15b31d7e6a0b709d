import { EXPORT_FILE_EXTENSIONS, type AuditEventView, type ExportFormat, type Severity } from '../../../shared/audit.ts';
import { canonicalJson, jsonString } from '../canonicalJson.ts';
import { actionLabel } from '../../../shared/auditLabels.ts';
import { attemptedUsernameOf, attemptedUsernameText } from '../attemptedUsername.ts';
import { ocsfLine } from './ocsf.ts';

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
 * goes through the general serialiser). Exports write millions of these: the parts are
 * joined once into a flat string (a template literal of 30 parts builds a tree of partial
 * strings that the garbage collector then has to walk: about twice the time).
 */
export function eventJson(e: AuditEventView): string {
  const q = jsonString;
  return [
    '{"action":', q(e.action),
    ',"actorId":', q(e.actorId),
    ',"actorUsername":', q(e.actorUsername),
    ',"details":', canonicalJson(e.details),
    ',"hash":', q(e.hash),
    ',"ip":', q(e.ip),
    ',"model":', q(e.model),
    ',"outcome":', q(e.outcome),
    ',"prevHash":', q(e.prevHash),
    ',"seq":', JSON.stringify(e.seq),
    ',"severity":', q(e.severity),
    ',"targetId":', q(e.targetId),
    ',"targetType":', q(e.targetType),
    ',"time":', q(e.time),
    ',"userAgent":', q(e.userAgent),
    '}',
  ].join('');
}

/** JSON Lines: every hashed member plus prevHash and hash, as RFC 8785 JSON, one per line. */
const jsonl: ExportFormatWriter = {
  contentType: 'application/jsonl; charset=utf-8',
  extension: EXPORT_FILE_EXTENSIONS.jsonl,
  header: '',
  record: (event) => eventJson(event) + '\n',
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
 * Text a spreadsheet would run as a formula: = + - @ tab or CR first (OWASP CSV injection),
 * after any apostrophes. Counting the apostrophes makes the guard reversible: a value that
 * already starts with ' followed by one of these gets one more, so undoing it is always
 * "drop one leading ' where this pattern matches" (docs/audit-chain.md).
 */
export const CSV_FORMULA = /^'*[=+\-@\t\r]/;

/**
 * One RFC 4180 field: quoted when it holds a comma, quote, CR or LF, quotes doubled.
 * A null is an empty field and an empty string a quoted one (`""`), so the two stay apart.
 * Formula-like text gets a leading apostrophe; such values come from clients, never from Argus.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (value === '') return '""';
  let text = String(value);
  if (typeof value === 'string' && CSV_FORMULA.test(text)) text = `'${text}`;
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

/**
 * Every line break Unicode knows (CR, LF, VT, FF, NEL, LS, PS): a syslog or SIEM reader may
 * end the record at any of them, so none may appear raw.
 */
const LINE_BREAKS = /[\r\n\v\f\u0085\u2028\u2029]/g;
/** Whether a header field or extension value needs any escaping (most do not: the fast path for large exports). */
const HEADER_SPECIAL = /[\\|\r\n\v\f\u0085\u2028\u2029]/;
const EXTENSION_SPECIAL = /[\\=\r\n\v\f\u0085\u2028\u2029]/;

/** Header fields (CEF: "pipes and backslashes must be escaped"); a line break would end the record, so it becomes a space. */
export function cefHeaderField(text: string): string {
  if (!HEADER_SPECIAL.test(text)) return text;
  return text.replaceAll('\\', '\\\\').replaceAll('|', '\\|').replace(LINE_BREAKS, ' ');
}

/**
 * Extension values (CEF: backslash and equals are escaped; "multi-line fields can be sent
 * by CEF by encoding the newline character as \n or \r"): CR is written \r, every other
 * line break \n (so CRLF is \r\n).
 */
export function cefExtensionValue(text: string): string {
  if (!EXTENSION_SPECIAL.test(text)) return text;
  return text
    .replaceAll('\\', '\\\\')
    .replaceAll('=', '\\=')
    .replace(LINE_BREAKS, (lineBreak) => (lineBreak === '\r' ? '\\r' : '\\n'));
}

const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

/**
 * The source user: whoever acted, else the username a sign-in attempt typed (the account's
 * name, or for a name matching no account its marked keyed hash, hmac-sha256:…).
 */
function cefSourceUser(e: AuditEventView): string | null {
  if (e.actorUsername !== null) return e.actorUsername;
  const attempted = attemptedUsernameOf(e);
  return attempted ? attemptedUsernameText(attempted) : null;
}

function cefRecord(e: AuditEventView): string {
  const extension: Array<[string, string | number | null]> = [
    ['rt', Date.parse(e.time)],
    ['externalId', e.seq],
    ['act', e.action],
    ['outcome', e.outcome],
    ['suid', e.actorId],
    ['suser', cefSourceUser(e)],
    // src takes an IPv4 address; IPv6 goes in c6a2.
    [IPV4.test(e.ip ?? '') ? 'src' : 'c6a2', e.ip],
    ['requestClientApplication', e.userAgent],
  ];
  // Custom strings go as label and value together, or not at all: a label naming nothing is noise to a SIEM.
  const custom: Array<[string, string | null]> = [
    ['targetType', e.targetType],
    ['targetId', e.targetId],
    ['model', e.model],
    ['details', canonicalJson(e.details)],
    ['prevHash', e.prevHash],
    ['hash', e.hash],
  ];
  custom.forEach(([label, value], i) => extension.push([`cs${i + 1}Label`, value === null || value === '' ? null : label], [`cs${i + 1}`, value]));
  const pairs = extension.filter(([, value]) => value !== null && value !== '').map(([key, value]) => `${key}=${cefExtensionValue(String(value))}`);
  // Name: what happened in words (the audit page's label); the class id keeps the action code.
  const header = ['Argus', 'Argus', '0.1.0', e.action, actionLabel(e.action), String(CEF_SEVERITY[e.severity])].map(cefHeaderField);
  return `CEF:0|${header.join('|')}|${pairs.join(' ')}\n`;
}

const cef: ExportFormatWriter = {
  contentType: 'text/plain; charset=utf-8',
  extension: EXPORT_FILE_EXTENSIONS.cef,
  header: '',
  record: cefRecord,
};

/** OCSF 1.3 events as JSON Lines (ocsfLine: the bytes of JSON.stringify(toOcsf(event)) and a line end, built faster). */
const ocsf: ExportFormatWriter = {
  contentType: 'application/jsonl; charset=utf-8',
  extension: EXPORT_FILE_EXTENSIONS.ocsf,
  header: '',
  record: ocsfLine,
};

export const EXPORT_WRITERS: Record<ExportFormat, ExportFormatWriter> = { jsonl, csv, cef, ocsf };
