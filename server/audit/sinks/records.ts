/**
 * Audit events and signed checkpoints as sink records, written by the same writers as the
 * exports (eventJson, ocsfJson, the CEF writer), so a record streamed to a SIEM and the same
 * event in an export are the same text.
 */
import type { AuditCheckpoint, AuditEventView } from '../../../shared/audit.ts';
import { canonicalJson } from '../canonicalJson.ts';
import { EXPORT_WRITERS, eventJson } from '../export/formats.ts';
import { ocsfJson } from '../export/ocsf.ts';
import type { SinkFormat, SinkRecord } from './types.ts';

/** The `type` of a checkpoint line, the same string its signature covers (checkpointPayload). */
export const CHECKPOINT_LINE_TYPE = 'argus.audit.checkpoint';

/**
 * A signed checkpoint as one line of JSON: exactly the AuditCheckpoint members plus
 * `"type":"argus.audit.checkpoint"`, in RFC 8785 form. What the checkpoint file holds, and
 * what the JSON formats send; `npm run audit:verify` reads such lines back.
 */
export function checkpointLine(checkpoint: AuditCheckpoint): string {
  return canonicalJson({
    type: CHECKPOINT_LINE_TYPE,
    seq: checkpoint.seq,
    hash: checkpoint.hash,
    time: checkpoint.time,
    keyFingerprint: checkpoint.keyFingerprint,
    signature: checkpoint.signature,
  });
}

/** The export writers end each record with a line break; a sink record is the line without it. */
const withoutLineEnd = (text: string) => (text.endsWith('\n') ? text.slice(0, text.endsWith('\r\n') ? -2 : -1) : text);

export function eventRecord(event: AuditEventView, format: SinkFormat): SinkRecord {
  let body: string;
  switch (format) {
    case 'jsonl':
      body = eventJson(event);
      break;
    case 'ocsf':
      body = ocsfJson(event);
      break;
    case 'cef':
      body = withoutLineEnd(EXPORT_WRITERS.cef.record(event));
      break;
  }
  return { kind: 'event', seq: event.seq, time: event.time, severity: event.severity, body };
}

/**
 * CEF extension values escape backslash and `=` (CEF rev. 25). A checkpoint's values are
 * digits, hex, an ISO time and base64, so only a signature's `=` padding needs it.
 */
const cefValue = (text: string) => text.replaceAll('\\', '\\\\').replaceAll('=', '\\=');

/** A checkpoint as a CEF record: the signed members in named custom strings. */
function checkpointCef(checkpoint: AuditCheckpoint): string {
  const extension = [
    ['rt', String(Date.parse(checkpoint.time))],
    ['externalId', String(checkpoint.seq)],
    ['act', 'audit.checkpoint'],
    ['cs1Label', 'hash'],
    ['cs1', checkpoint.hash],
    ['cs2Label', 'keyFingerprint'],
    ['cs2', checkpoint.keyFingerprint],
    ['cs3Label', 'signature'],
    ['cs3', checkpoint.signature],
    ['cs4Label', 'time'],
    ['cs4', checkpoint.time],
  ];
  return `CEF:0|Argus|Argus|0.1.0|audit.checkpoint|Audit chain checkpoint signed|1|${extension.map(([key, value]) => `${key}=${cefValue(value!)}`).join(' ')}`;
}

export function checkpointRecord(checkpoint: AuditCheckpoint, format: SinkFormat): SinkRecord {
  return {
    kind: 'checkpoint',
    seq: checkpoint.seq,
    time: checkpoint.time,
    severity: 'info',
    // OCSF has no class for a signed statement about a log: the checkpoint line goes as it is.
    body: format === 'cef' ? checkpointCef(checkpoint) : checkpointLine(checkpoint),
  };
}
