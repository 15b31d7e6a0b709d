import type { KeyObject } from 'node:crypto';
import type { AuditCheckpoint, CheckpointBreakReason } from '../../shared/audit.ts';
import { canonicalJson } from './canonicalJson.ts';
import { publicKeyFingerprint, verifySignature, type AuditSigner } from './signingKey.ts';

/** The bytes a checkpoint's signature covers: RFC 8785 JSON of these four members. */
export function checkpointPayload(checkpoint: Pick<AuditCheckpoint, 'seq' | 'hash' | 'time'>): string {
  return canonicalJson({ type: 'argus.audit.checkpoint', seq: checkpoint.seq, hash: checkpoint.hash, time: checkpoint.time });
}

export function signCheckpoint(signer: AuditSigner, head: { seq: number; hash: string }, time = new Date()): AuditCheckpoint {
  const unsigned = { seq: head.seq, hash: head.hash, time: time.toISOString() };
  return { ...unsigned, keyFingerprint: signer.fingerprint, signature: signer.sign(checkpointPayload(unsigned)) };
}

export type CheckpointBreak = { seq: number; reason: CheckpointBreakReason };

/**
 * Holds signed checkpoints against a chain being walked in seq order. A checkpoint proves
 * the chain's history up to its seq: if the event there no longer has the signed hash, the
 * history was rewritten (even if the rewrite recomputed every hash after it); if the chain
 * now ends before it, its tail was cut off.
 */
export class CheckpointWitness {
  private readonly expected = new Map<number, string>();
  private latestSeq = 0;
  /** The lowest-seq checkpoint that fails its signature, if any. */
  private forged: CheckpointBreak | null = null;
  checked = 0;
  broken: CheckpointBreak | null = null;

  /** `trusted`: the signing key, and any retired keys whose checkpoints still count. */
  constructor(checkpoints: Iterable<AuditCheckpoint>, trusted: KeyObject | readonly KeyObject[]) {
    const keys = new Map((Array.isArray(trusted) ? trusted : [trusted]).map((key: KeyObject) => [publicKeyFingerprint(key), key]));
    for (const checkpoint of checkpoints) {
      // A checkpoint is evidence only if a trusted key signed exactly these values.
      const key = keys.get(checkpoint.keyFingerprint);
      const genuine = key !== undefined && verifySignature(key, checkpointPayload(checkpoint), checkpoint.signature);
      if (!genuine) {
        if (!this.forged || checkpoint.seq < this.forged.seq) this.forged = { seq: checkpoint.seq, reason: 'checkpoint_signature_invalid' };
        continue;
      }
      const already = this.expected.get(checkpoint.seq);
      // Two genuine checkpoints cannot disagree about one seq unless the key signed a forked chain.
      if (already !== undefined && already !== checkpoint.hash) this.forged = { seq: checkpoint.seq, reason: 'checkpoint_mismatch' };
      this.expected.set(checkpoint.seq, checkpoint.hash);
      this.latestSeq = Math.max(this.latestSeq, checkpoint.seq);
    }
  }

  get count(): number {
    return this.expected.size;
  }

  /** Call for every event in seq order; false once a checkpoint disagrees with the chain. */
  observe(seq: number, hash: string): boolean {
    if (this.broken) return false;
    const signed = this.expected.get(seq);
    if (signed === undefined) return true;
    if (signed !== hash) {
      this.broken = { seq, reason: 'checkpoint_mismatch' };
      return false;
    }
    this.checked += 1;
    return true;
  }

  /**
   * After the walk: the first problem by seq, if any. `headSeq` is where the chain now ends
   * (null if empty); `complete` says the walk reached the head (an export may end earlier).
   */
  finish(headSeq: number | null, { complete = true }: { complete?: boolean } = {}): CheckpointBreak | null {
    const breaks = [this.broken, this.forged];
    if (complete && this.latestSeq > (headSeq ?? 0)) breaks.push({ seq: (headSeq ?? 0) + 1, reason: 'truncated' });
    return breaks.filter((b): b is CheckpointBreak => b !== null).sort((a, b) => a.seq - b.seq)[0] ?? null;
  }
}
