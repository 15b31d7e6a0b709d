import { createHash } from 'node:crypto';
import type { AuditEventView } from '../../shared/audit.ts';
import { canonicalJson } from './canonicalJson.ts';

/** The prev_hash of the first event: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** Exactly the fields that are hashed: an audit event without its own chain links. */
type HashedFields = Omit<AuditEventView, 'prevHash' | 'hash'>;

/** hash = lowercase hex SHA-256 of (prev_hash as ASCII hex ‖ UTF-8 canonical JSON of the event). */
export function eventHash(prevHash: string, event: HashedFields): string {
  const body: HashedFields = {
    seq: event.seq,
    time: event.time,
    actorId: event.actorId,
    actorUsername: event.actorUsername,
    action: event.action,
    targetType: event.targetType,
    targetId: event.targetId,
    outcome: event.outcome,
    severity: event.severity,
    ip: event.ip,
    userAgent: event.userAgent,
    model: event.model,
    details: event.details,
  };
  return createHash('sha256').update(prevHash, 'ascii').update(canonicalJson(body), 'utf8').digest('hex');
}

export type ChainBreak = { seq: number; reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'sequence_gap' };

/**
 * Checks events in sequence order, carrying state across batches so a chain of any
 * length is verified in constant memory.
 */
export class ChainVerifier {
  checked = 0;
  private expectedSeq: number;
  private expectedPrevHash: string;
  broken: ChainBreak | null = null;

  constructor({ firstSeq = 1, prevHash = GENESIS_HASH }: { firstSeq?: number; prevHash?: string } = {}) {
    this.expectedSeq = firstSeq;
    this.expectedPrevHash = prevHash;
  }

  get headSeq(): number | null {
    return this.checked === 0 ? null : this.expectedSeq - 1;
  }

  get headHash(): string | null {
    return this.checked === 0 ? null : this.expectedPrevHash;
  }

  /** Returns false once the chain is broken; further events are ignored. */
  push(event: AuditEventView): boolean {
    if (this.broken) return false;
    // A missing or duplicated sequence number means a row was deleted, inserted or moved.
    if (event.seq !== this.expectedSeq) {
      this.broken = { seq: this.expectedSeq, reason: 'sequence_gap' };
      return false;
    }
    // Each event names its predecessor's hash.
    if (event.prevHash !== this.expectedPrevHash) {
      this.broken = { seq: event.seq, reason: 'prev_hash_mismatch' };
      return false;
    }
    // The stored hash must be the hash of what is stored.
    if (eventHash(event.prevHash, event) !== event.hash) {
      this.broken = { seq: event.seq, reason: 'hash_mismatch' };
      return false;
    }
    this.checked += 1;
    this.expectedSeq += 1;
    this.expectedPrevHash = event.hash;
    return true;
  }
}
