/**
 * Offline verification of an export against its signed manifest: no database, no server,
 * only the files and the trusted public key. Imports nothing that talks to Postgres.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AuditEventView, ExportManifest } from '../../shared/audit.ts';
import { ChainVerifier, eventHash } from './chain.ts';
import { CheckpointWitness } from './checkpoint.ts';
import { verifyManifestSignature } from './manifest.ts';

export type ExportProblem =
  | { kind: 'manifest_unreadable'; message: string }
  | { kind: 'manifest_signature'; reason: 'wrong_key' | 'bad_signature' }
  | { kind: 'file_changed'; expectedSha256: string; actualSha256: string }
  | { kind: 'line_unreadable'; line: number }
  | { kind: 'chain_broken'; seq: number; line: number; reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap' | 'out_of_order' }
  | { kind: 'checkpoint'; seq: number; reason: 'checkpoint_signature_invalid' | 'checkpoint_mismatch' }
  | { kind: 'manifest_mismatch'; field: 'eventCount' | 'firstSeq' | 'lastSeq' | 'prevHash' | 'lastHash' };

export interface ExportVerification {
  ok: boolean;
  manifest: ExportManifest | null;
  /** Whether the events' hashes and links were checked (JSON Lines only). */
  chainChecked: boolean;
  eventsChecked: number;
  checkpointMatched: boolean;
  /** Every problem found, the first broken link first among chain problems. */
  problems: ExportProblem[];
}

type ExportedEvent = AuditEventView;

function isExportedEvent(value: unknown): value is ExportedEvent {
  const e = value as Record<string, unknown> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    Number.isSafeInteger(e.seq) &&
    typeof e.time === 'string' &&
    typeof e.action === 'string' &&
    typeof e.prevHash === 'string' &&
    typeof e.hash === 'string' &&
    typeof e.details === 'object' &&
    e.details !== null
  );
}

/**
 * Checks, in this order: the manifest's signature against the trusted `publicKey` (one, or
 * the current and retired keys); every JSON Lines
 * event's hash, and its link to the event before it (an unbroken chain from the manifest's
 * prevHash when the export is contiguous); the signed checkpoint, if the manifest carries
 * one inside the range; the counts and end hashes the manifest states; and the file's
 * SHA-256. Reads the file once, line by line, in constant memory.
 */
export async function verifyExport({
  exportPath,
  manifestJson,
  publicKey,
}: {
  exportPath: string;
  manifestJson: string;
  publicKey: KeyObject | readonly KeyObject[];
}): Promise<ExportVerification> {
  const problems: ExportProblem[] = [];
  let manifest: ExportManifest;
  try {
    manifest = JSON.parse(manifestJson) as ExportManifest;
    if (manifest?.type !== 'argus.audit.export-manifest' || manifest.version !== 1) throw new Error('not an Argus export manifest (version 1)');
  } catch (error) {
    return { ok: false, manifest: null, chainChecked: false, eventsChecked: 0, checkpointMatched: false, problems: [{ kind: 'manifest_unreadable', message: (error as Error).message }] };
  }
  const signature = verifyManifestSignature(manifest, publicKey);
  if (!signature.valid) problems.push({ kind: 'manifest_signature', reason: signature.reason });

  const chainChecked = manifest.format === 'jsonl';
  const sha256 = createHash('sha256');
  const file = createReadStream(exportPath);
  file.on('data', (chunk) => sha256.update(chunk));

  const witness = manifest.checkpoint ? new CheckpointWitness([manifest.checkpoint], publicKey) : null;
  const witnessForged = witness?.finish(0, { complete: false });
  if (witnessForged) problems.push({ kind: 'checkpoint', seq: witnessForged.seq, reason: 'checkpoint_signature_invalid' });

  let eventsChecked = 0;
  let first: ExportedEvent | null = null;
  let last: ExportedEvent | null = null;
  let chainBroken = false;
  if (chainChecked) {
    const contiguous = manifest.contiguous && manifest.firstSeq !== null && manifest.prevHash !== null;
    const chain = contiguous ? new ChainVerifier({ firstSeq: manifest.firstSeq!, prevHash: manifest.prevHash! }) : null;
    let lineNumber = 0;
    for await (const line of createInterface({ input: file, crlfDelay: Infinity })) {
      lineNumber += 1;
      if (line === '') continue;
      let event: unknown;
      try {
        event = JSON.parse(line);
      } catch {
        event = null;
      }
      if (!isExportedEvent(event)) {
        if (!chainBroken) problems.push({ kind: 'line_unreadable', line: lineNumber });
        chainBroken = true;
        continue;
      }
      first ??= event;
      if (!chainBroken) {
        const broken = chain ? checkLinked(chain, event) : checkAlone(event, last);
        if (broken) {
          problems.push({ kind: 'chain_broken', seq: broken.seq, line: lineNumber, reason: broken.reason });
          chainBroken = true;
        } else {
          eventsChecked += 1;
          if (witness && !witness.broken && !witness.observe(event.seq, event.hash)) problems.push({ kind: 'checkpoint', seq: event.seq, reason: 'checkpoint_mismatch' });
        }
      }
      last = event;
    }
  } else {
    await new Promise<void>((resolve, reject) => file.on('end', resolve).on('error', reject));
  }
  const actualSha256 = sha256.digest('hex');

  if (chainChecked && !chainBroken) {
    const stated: Array<[ExportProblem & { kind: 'manifest_mismatch' } extends { field: infer F } ? F : never, unknown, unknown]> = [
      ['eventCount', manifest.eventCount, eventsChecked],
      ['firstSeq', manifest.firstSeq, first?.seq ?? null],
      ['lastSeq', manifest.lastSeq, last?.seq ?? null],
      ['prevHash', manifest.prevHash, first?.prevHash ?? null],
      ['lastHash', manifest.lastHash, last?.hash ?? null],
    ];
    for (const [field, expected, actual] of stated) if (expected !== actual) problems.push({ kind: 'manifest_mismatch', field });
  }
  if (actualSha256 !== manifest.fileSha256) problems.push({ kind: 'file_changed', expectedSha256: manifest.fileSha256, actualSha256 });
  return {
    ok: problems.length === 0,
    manifest,
    chainChecked,
    eventsChecked,
    checkpointMatched: witness !== null && witness.checked > 0,
    problems,
  };
}

function checkLinked(chain: ChainVerifier, event: ExportedEvent): { seq: number; reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap' } | null {
  return chain.push(event) ? null : chain.broken;
}

/** A filtered export is not one segment: check each event's own hash, and links where seqs are adjacent. */
function checkAlone(event: ExportedEvent, previous: ExportedEvent | null): { seq: number; reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'out_of_order' } | null {
  if (previous && event.seq <= previous.seq) return { seq: event.seq, reason: 'out_of_order' };
  if (previous && event.seq === previous.seq + 1 && event.prevHash !== previous.hash) return { seq: event.seq, reason: 'prev_hash_mismatch' };
  if (eventHash(event.prevHash, event) !== event.hash) return { seq: event.seq, reason: 'hash_mismatch' };
  return null;
}

/** One line per problem, in words an auditor can act on. */
export function describeProblem(problem: ExportProblem): string {
  switch (problem.kind) {
    case 'manifest_unreadable':
      return `The manifest cannot be read: ${problem.message}.`;
    case 'manifest_signature':
      return problem.reason === 'wrong_key'
        ? 'The manifest was not signed by the trusted key (its key fingerprint differs).'
        : 'The manifest signature is invalid: the manifest was changed after it was signed.';
    case 'file_changed':
      return `The export file is not the one the manifest signed: SHA-256 ${problem.actualSha256}, signed ${problem.expectedSha256}.`;
    case 'line_unreadable':
      return `Line ${problem.line} is not an audit event.`;
    case 'chain_broken':
      return `First broken link: event #${problem.seq} (line ${problem.line}): ${problem.reason.replaceAll('_', ' ')}.`;
    case 'checkpoint':
      return problem.reason === 'checkpoint_mismatch'
        ? `Event #${problem.seq} does not have the hash the signed checkpoint recorded: history was rewritten.`
        : `The checkpoint at #${problem.seq} in the manifest is not signed by the trusted key.`;
    case 'manifest_mismatch':
      return `The file's ${problem.field} differs from the manifest's.`;
  }
}
