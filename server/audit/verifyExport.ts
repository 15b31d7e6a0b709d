/**
 * Offline verification of an export against its signed manifest: no database, no server,
 * only the files and the trusted public key. Imports nothing that talks to Postgres.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AuditCheckpoint, AuditEventView, ExportManifest } from '../../shared/audit.ts';
import { ChainVerifier, eventHash } from './chain.ts';
import { CheckpointWitness } from './checkpoint.ts';
import { verifyManifestSignature } from './manifest.ts';

export type ExportProblem =
  | { kind: 'manifest_unreadable'; message: string }
  | { kind: 'manifest_signature'; reason: 'wrong_key' | 'bad_signature' }
  | { kind: 'file_changed'; expectedSha256: string; actualSha256: string }
  | { kind: 'line_unreadable'; line: number; verifiedBefore: number }
  | {
      kind: 'chain_broken';
      /** Where the chain breaks: for a gap, the seq that was due. */
      seq: number;
      line: number;
      reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap' | 'out_of_order';
      /** The event on that line, as found there. */
      found: { seq: number; action: string };
      /** Events on the lines before it, each verified. */
      verifiedBefore: number;
    }
  | { kind: 'checkpoint'; seq: number; reason: 'checkpoint_signature_invalid' | 'checkpoint_mismatch'; source: 'manifest' | 'external' }
  | { kind: 'manifest_mismatch'; field: 'eventCount' | 'firstSeq' | 'lastSeq' | 'prevHash' | 'lastHash' };

export interface ExportVerification {
  ok: boolean;
  manifest: ExportManifest | null;
  /** Whether the events' hashes and links were checked (JSON Lines only). */
  chainChecked: boolean;
  eventsChecked: number;
  checkpointMatched: boolean;
  /** External checkpoints (given with --checkpoints) that fell on an exported event and matched it. */
  externalCheckpointsMatched: number;
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
 * one inside the range, and every `externalCheckpoints` (received elsewhere: the file sink,
 * a SIEM) whose seq is an exported event; the counts and end hashes the manifest states; and
 * the file's SHA-256. Reads the file once, line by line, in constant memory.
 */
export async function verifyExport({
  exportPath,
  manifestJson,
  publicKey,
  externalCheckpoints = [],
}: {
  exportPath: string;
  manifestJson: string;
  publicKey: KeyObject | readonly KeyObject[];
  externalCheckpoints?: readonly AuditCheckpoint[];
}): Promise<ExportVerification> {
  const problems: ExportProblem[] = [];
  let manifest: ExportManifest;
  try {
    manifest = JSON.parse(manifestJson) as ExportManifest;
    if (manifest?.type !== 'argus.audit.export-manifest' || manifest.version !== 1) throw new Error('not an Argus export manifest (version 1)');
  } catch (error) {
    return {
      ok: false,
      manifest: null,
      chainChecked: false,
      eventsChecked: 0,
      checkpointMatched: false,
      externalCheckpointsMatched: 0,
      problems: [{ kind: 'manifest_unreadable', message: (error as Error).message }],
    };
  }
  const signature = verifyManifestSignature(manifest, publicKey);
  if (!signature.valid) problems.push({ kind: 'manifest_signature', reason: signature.reason });

  const chainChecked = manifest.format === 'jsonl';
  const sha256 = createHash('sha256');
  const file = createReadStream(exportPath);
  file.on('data', (chunk) => sha256.update(chunk));

  // The manifest's own checkpoint and the ones received elsewhere, each held against the events.
  const witnesses: Array<{ source: 'manifest' | 'external'; witness: CheckpointWitness }> = [];
  if (manifest.checkpoint) witnesses.push({ source: 'manifest', witness: new CheckpointWitness([manifest.checkpoint], publicKey) });
  if (externalCheckpoints.length > 0) witnesses.push({ source: 'external', witness: new CheckpointWitness(externalCheckpoints, publicKey) });
  for (const { source, witness } of witnesses) {
    const forged = witness.finish(0, { complete: false });
    // Before any event is read, only the signatures (and two signed checkpoints that disagree) can fail.
    if (forged && forged.reason !== 'truncated') problems.push({ kind: 'checkpoint', seq: forged.seq, reason: forged.reason, source });
  }

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
        if (!chainBroken) problems.push({ kind: 'line_unreadable', line: lineNumber, verifiedBefore: eventsChecked });
        chainBroken = true;
        continue;
      }
      first ??= event;
      if (!chainBroken) {
        const broken = chain ? checkLinked(chain, event) : checkAlone(event, last);
        if (broken) {
          const found = { seq: event.seq, action: event.action };
          problems.push({ kind: 'chain_broken', seq: broken.seq, line: lineNumber, reason: broken.reason, found, verifiedBefore: eventsChecked });
          chainBroken = true;
        } else {
          eventsChecked += 1;
          for (const { source, witness } of witnesses) {
            if (!witness.broken && !witness.observe(event.seq, event.hash)) problems.push({ kind: 'checkpoint', seq: event.seq, reason: 'checkpoint_mismatch', source });
          }
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
    checkpointMatched: witnesses.some(({ source, witness }) => source === 'manifest' && witness.checked > 0),
    externalCheckpointsMatched: witnesses.find(({ source }) => source === 'external')?.witness.checked ?? 0,
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

const events = (count: number) => `${count} event${count === 1 ? '' : 's'}`;

/**
 * Text read from a file or a table under suspicion (an action as found at a break), made
 * safe to print on a terminal: anything but printable ASCII is shown as \u{…}, so no escape
 * sequence or line break in it acts on the reader's screen; long text is cut.
 */
export function printable(text: string): string {
  const cut = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return cut.replace(/[^\x20-\x7e…]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
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
      return `Line ${problem.line} is not an audit event; ${events(problem.verifiedBefore)} verified before it.`;
    case 'chain_broken': {
      const due = problem.reason === 'sequence_gap' && problem.found.seq !== problem.seq ? ` where #${problem.seq} was due` : '';
      return `First broken link: line ${problem.line}, event #${problem.found.seq} ${printable(problem.found.action)}${due}: ${problem.reason.replaceAll('_', ' ')}; ${events(problem.verifiedBefore)} verified before it.`;
    }
    case 'checkpoint': {
      const which = problem.source === 'manifest' ? 'the signed checkpoint in the manifest' : 'an external signed checkpoint';
      return problem.reason === 'checkpoint_mismatch'
        ? `Event #${problem.seq} does not have the hash ${which} recorded: history was rewritten.`
        : `${problem.source === 'manifest' ? 'The checkpoint at' : 'An external checkpoint at'} #${problem.seq} is not signed by the trusted key.`;
    }
    case 'manifest_mismatch':
      return `The file's ${problem.field} differs from the manifest's.`;
  }
}
