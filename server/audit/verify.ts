import type { KeyObject } from 'node:crypto';
import type { AuditCheckpoint, ChainVerification } from '../../shared/audit.ts';
import { getAuditEvent, getLatestCheckpoint, listAuditEventsAscending, listCheckpointsAscending } from '../db/audit.ts';
import type { Queryable } from '../db/pool.ts';
import { ChainVerifier } from './chain.ts';
import { CheckpointWitness, type CheckpointBreak } from './checkpoint.ts';
import { describeExternalCheckpoints, readExternalCheckpoints } from './externalCheckpoints.ts';
import { printable } from './verifyExport.ts';

const BATCH = 2_000;

async function allCheckpoints(db: Queryable): Promise<AuditCheckpoint[]> {
  const checkpoints: AuditCheckpoint[] = [];
  let afterId = 0;
  for (;;) {
    const batch = await listCheckpointsAscending(db, afterId, BATCH);
    checkpoints.push(...batch);
    if (batch.length < BATCH) return checkpoints;
    afterId = batch[batch.length - 1]!.id;
  }
}

/** What the command line adds to the in-app answer: how the checkpoints received elsewhere fared. */
export type AuditChainReport = ChainVerification & {
  /** Present when external checkpoints were given: how many matched an event, of how many. */
  externalCheckpoints?: { checked: number; count: number };
  /** On a checkpoint break: whether the database's own checkpoints or the external ones caught it. */
  caughtBy?: 'database' | 'external';
};

type Break = { seq: number; reason: Extract<ChainVerification, { intact: false }>['reason']; source: 'chain' | 'database' | 'external' };

/** The lowest-seq break (the first one a reader of the chain meets). */
function earliest(breaks: Array<Break | null>): Break | null {
  return breaks.filter((b): b is Break => b !== null).sort((a, b) => a.seq - b.seq)[0] ?? null;
}

const from = (source: Break['source'], found: CheckpointBreak | null | undefined): Break | null => (found ? { ...found, source } : null);

/**
 * Walks the whole chain from the genesis event in batches (memory stays flat in the number
 * of events) and, given the trusted public key, holds it against every signed checkpoint —
 * the database's own, and `externalCheckpoints` received elsewhere (the file sink, a SIEM):
 * a rewritten history or a cut-off tail is caught even if every hash was recomputed, and
 * with external checkpoints even if the checkpoint rows were deleted too.
 *
 * On a break, `checked` is the number of events before it (each verified), and `found` the
 * event that is where the break is (null when the chain ends there).
 */
export async function verifyAuditChain(
  db: Queryable,
  { publicKey, externalCheckpoints = [] }: { publicKey?: KeyObject | readonly KeyObject[]; externalCheckpoints?: readonly AuditCheckpoint[] } = {},
): Promise<AuditChainReport> {
  // Checkpoints prove nothing without the key that must have signed them.
  if (externalCheckpoints.length > 0 && !publicKey) throw new TypeError('verifyAuditChain: external checkpoints need the trusted public key');
  const verifier = new ChainVerifier();
  const own = publicKey ? new CheckpointWitness(await allCheckpoints(db), publicKey) : null;
  const external = publicKey && externalCheckpoints.length > 0 ? new CheckpointWitness(externalCheckpoints, publicKey) : null;
  const summaries = async (): Promise<Pick<AuditChainReport, 'checkpoints' | 'externalCheckpoints'>> => ({
    ...(publicKey ? { checkpoints: { checked: own?.checked ?? 0, latest: await getLatestCheckpoint(db) } } : {}),
    ...(external ? { externalCheckpoints: { checked: external.checked, count: externalCheckpoints.length } } : {}),
  });

  let chainBreak: (Break & { found: { seq: number; action: string } }) | null = null;
  walk: for (let afterSeq = 0; ; ) {
    const batch = await listAuditEventsAscending(db, afterSeq, BATCH);
    for (const event of batch) {
      if (!verifier.push(event)) {
        // The event read where the next link was due: for a gap, the one after the hole.
        chainBreak = { ...verifier.broken!, source: 'chain', found: { seq: event.seq, action: event.action } };
        break walk;
      }
      own?.observe(event.seq, event.hash);
      external?.observe(event.seq, event.hash);
    }
    if (batch.length < BATCH) break;
    afterSeq = batch[batch.length - 1]!.seq;
  }

  // After a chain break the walk stopped early: only checkpoint breaks met before it count.
  const complete = chainBreak === null;
  const headSeq = complete ? verifier.headSeq : null;
  const first = earliest([
    chainBreak,
    from('database', own?.finish(headSeq, { complete })),
    from('external', external?.finish(headSeq, { complete })),
  ]);
  if (!first) {
    return { intact: true, checked: verifier.checked, headSeq: verifier.headSeq, headHash: verifier.headHash, ...(await summaries()) };
  }
  const atBreak = first === chainBreak ? chainBreak.found : await getAuditEvent(db, first.seq);
  return {
    intact: false,
    // Every event before the break was walked and verified; none after it counts.
    checked: Math.min(verifier.checked, first.seq - 1),
    brokenAt: first.seq,
    reason: first.reason,
    found: atBreak ? { seq: atBreak.seq, action: atBreak.action } : null,
    ...(first.source === 'chain' ? {} : { caughtBy: first.source }),
    ...(await summaries()),
  };
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** One line saying where the chain breaks and what is there, for the command line. */
export function describeChainBreak(result: Extract<AuditChainReport, { intact: false }>): string {
  const there = result.found ? `found #${result.found.seq} ${printable(result.found.action)} there` : 'no event there';
  const by = result.caughtBy === 'external' ? ', by an external checkpoint' : '';
  return `Audit chain BROKEN at #${result.brokenAt} (${result.reason}${by}; ${there}); ${plural(result.checked, 'event')} verified before it`;
}

/**
 * `npm run argus -- verify-audit` and `npm run audit:verify -- --database`: the chain and,
 * given the node's public keys, every signed checkpoint, as the in-app check does (null: the
 * chain alone); with `checkpointsFiles`, also the checkpoints received elsewhere in those
 * files (see externalCheckpoints.ts). Prints the outcome; returns the exit code (0 intact, 1 broken).
 */
export async function verifyAuditCommand(
  db: Queryable,
  publicKey: KeyObject | readonly KeyObject[] | null,
  out: { log(text: string): void; error(text: string): void } = console,
  { checkpointsFiles = [] }: { checkpointsFiles?: readonly string[] } = {},
): Promise<number> {
  const externalCheckpoints: AuditCheckpoint[] = [];
  for (const file of checkpointsFiles) {
    if (!publicKey) throw new TypeError('verifyAuditCommand: --checkpoints needs the trusted public key');
    const read = await readExternalCheckpoints(file, publicKey);
    for (const line of describeExternalCheckpoints(read, file)) {
      if (line.startsWith('FAIL')) out.error(line);
      else out.log(line);
    }
    externalCheckpoints.push(...read.checkpoints);
  }
  const result = await verifyAuditChain(db, publicKey ? { publicKey, externalCheckpoints } : {});
  const own = result.checkpoints
    ? `; ${plural(result.checkpoints.checked, 'signed checkpoint')} matched${result.checkpoints.latest ? `, latest at #${result.checkpoints.latest.seq}` : ''}`
    : '';
  const external = result.externalCheckpoints
    ? `; ${result.externalCheckpoints.checked} of ${plural(result.externalCheckpoints.count, 'external checkpoint')} matched`
    : '';
  if (result.intact) {
    const head = result.headSeq === null ? 'no events yet' : `head #${result.headSeq} ${result.headHash}`;
    out.log(`Audit chain intact: ${plural(result.checked, 'event')}, ${head}${own}${external}`);
    return 0;
  }
  out.error(`${describeChainBreak(result)}${own}${external}.`);
  return 1;
}
