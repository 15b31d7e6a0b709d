/**
 * Signed checkpoints received outside Argus — the file sink's lines, or lines copied out of a
 * SIEM or a syslog file — read back for `npm run audit:verify -- --checkpoints FILE`.
 * Imports nothing that talks to Postgres.
 *
 * Each line is a JSON object `{"type":"argus.audit.checkpoint", seq, hash, time,
 * keyFingerprint, signature}` (the file sink's, and the JSON formats'), such an object after
 * any prefix, or the CEF record a CEF sink sends; every other line is skipped and counted.
 *
 * A checkpoint is evidence held elsewhere: an attacker who rewrites the chain, recomputes
 * every hash and deletes the checkpoint rows in the database still cannot change these.
 */
import type { KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AuditCheckpoint } from '../../shared/audit.ts';
import { checkpointPayload } from './checkpoint.ts';
import { publicKeyFingerprint, verifySignature } from './signingKey.ts';

export const CHECKPOINT_TYPE = 'argus.audit.checkpoint';

/** What a file of checkpoint lines held. */
export interface ExternalCheckpoints {
  /** Every checkpoint found, in file order, genuine or not (the witness reports forged ones). */
  checkpoints: AuditCheckpoint[];
  /** Lines that hold no checkpoint (other records, text cut short); blank lines are not counted. */
  skipped: number;
  /** Checkpoints whose signature does not verify under any trusted key: where each was. */
  unverified: Array<{ line: number; seq: number }>;
}

const HASH = /^[0-9a-f]{64}$/;
/** How deep to look for a checkpoint wrapped inside another record (an OCSF event, a HEC envelope). */
const MAX_DEPTH = 4;

function isCheckpoint(value: unknown): value is AuditCheckpoint & { type: typeof CHECKPOINT_TYPE } {
  const c = value as Record<string, unknown> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    c.type === CHECKPOINT_TYPE &&
    Number.isSafeInteger(c.seq) &&
    (c.seq as number) >= 1 &&
    typeof c.hash === 'string' &&
    HASH.test(c.hash) &&
    typeof c.time === 'string' &&
    typeof c.keyFingerprint === 'string' &&
    typeof c.signature === 'string'
  );
}

/** The first checkpoint object in a parsed record: itself, a member, or JSON text in a member. */
function findCheckpoint(value: unknown, depth = 0): AuditCheckpoint | null {
  if (isCheckpoint(value)) return { seq: value.seq, hash: value.hash, time: value.time, keyFingerprint: value.keyFingerprint, signature: value.signature };
  if (depth >= MAX_DEPTH) return null;
  if (typeof value === 'string') return value.includes(CHECKPOINT_TYPE) ? checkpointInText(value, depth + 1) : null;
  if (typeof value !== 'object' || value === null) return null;
  for (const member of Object.values(value)) {
    const found = findCheckpoint(member, depth + 1);
    if (found) return found;
  }
  return null;
}

/**
 * The checkpoint a line carries, if any: the line is a JSON object, or has one after a prefix
 * (a syslog header, a SIEM's columns): the text from the first `{` to the last `}`; or it is
 * the CEF record a CEF sink sends for a checkpoint.
 */
export function checkpointInText(text: string, depth = 0): AuditCheckpoint | null {
  if (depth === 0 && text.includes('|audit.checkpoint|')) return checkpointInCef(text);
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(start, end + 1));
  } catch {
    return null;
  }
  return findCheckpoint(parsed, depth);
}

/** A CEF extension's key=value pairs, unescaped (CEF rev. 25: \\ \= \n \r). */
function cefExtensionPairs(extension: string): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const [, key, value] of extension.matchAll(/([A-Za-z0-9_]+)=((?:\\.|[^\\])*?)(?=\s+[A-Za-z0-9_]+=|\s*$)/g)) {
    pairs.set(key!, value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c)));
  }
  return pairs;
}

/**
 * The checkpoint in a CEF sink's record (server/audit/sinks/records.ts): class id
 * `audit.checkpoint`, the seq in `externalId`, the signed members in custom strings named by
 * their labels (hash, keyFingerprint, signature, time).
 */
function checkpointInCef(text: string): AuditCheckpoint | null {
  const start = text.indexOf('CEF:');
  if (start < 0) return null;
  // Seven unescaped pipes end the header; the extension follows.
  const fields = text.slice(start).split(/(?<!\\)\|/);
  if (fields.length < 8 || fields[4] !== 'audit.checkpoint') return null;
  const pairs = cefExtensionPairs(fields.slice(7).join('|'));
  const named = new Map<string, string>();
  for (const [key, label] of pairs) {
    const custom = /^(cs\d)Label$/.exec(key)?.[1];
    if (custom && pairs.has(custom)) named.set(label, pairs.get(custom)!);
  }
  const seq = Number(pairs.get('externalId'));
  const candidate = { type: CHECKPOINT_TYPE, seq, hash: named.get('hash'), time: named.get('time'), keyFingerprint: named.get('keyFingerprint'), signature: named.get('signature') };
  return findCheckpoint(candidate, MAX_DEPTH);
}

/** Whether a trusted key signed exactly these values. */
export function isGenuineCheckpoint(checkpoint: AuditCheckpoint, trusted: readonly KeyObject[]): boolean {
  const key = trusted.find((candidate) => publicKeyFingerprint(candidate) === checkpoint.keyFingerprint);
  return key !== undefined && verifySignature(key, checkpointPayload(checkpoint), checkpoint.signature);
}

/** Reads a file of checkpoint lines, line by line (a SIEM extract may be large). */
export async function readExternalCheckpoints(filePath: string, trusted: KeyObject | readonly KeyObject[]): Promise<ExternalCheckpoints> {
  const keys: readonly KeyObject[] = Array.isArray(trusted) ? trusted : [trusted as KeyObject];
  const result: ExternalCheckpoints = { checkpoints: [], skipped: 0, unverified: [] };
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(filePath, { encoding: 'utf8' }), crlfDelay: Infinity })) {
    line += 1;
    if (text.trim() === '') continue;
    const checkpoint = checkpointInText(text);
    if (!checkpoint) {
      result.skipped += 1;
      continue;
    }
    result.checkpoints.push(checkpoint);
    if (!isGenuineCheckpoint(checkpoint, keys)) result.unverified.push({ line, seq: checkpoint.seq });
  }
  return result;
}

/** What was read, in lines for the command line; problems start with "FAIL:". */
export function describeExternalCheckpoints(read: ExternalCheckpoints, filePath: string): string[] {
  const count = read.checkpoints.length;
  const skipped = read.skipped === 0 ? '' : `; ${read.skipped} line${read.skipped === 1 ? '' : 's'} skipped (not a checkpoint)`;
  const lines = [`External checkpoints from ${filePath}: ${count} read${skipped}.`];
  if (count === 0) lines.push(`WARNING: ${filePath} holds no checkpoint: nothing held elsewhere was compared.`);
  for (const { line, seq } of read.unverified) lines.push(`FAIL: ${filePath} line ${line}: the checkpoint at #${seq} is not signed by a trusted key.`);
  return lines;
}
