import { createHash } from 'node:crypto';
import { recordAuditEvent, SYSTEM_CONTEXT } from '../audit/record.ts';
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../log.ts';

export type ForgedRecordAction = 'grant.forged_record' | 'session.forged_record' | 'audit.outbox_forged_record';

/**
 * Why a record was not one a node made: no MAC, a MAC that does not verify (or under a key no
 * longer listed), a record that is not even JSON, a genuine record stored under another
 * record's key (a grant copied into another session's slot), or a record version this node
 * does not know.
 */
export type ForgeryReason = 'missing_mac' | 'malformed_mac' | 'unknown_key' | 'bad_mac' | 'unreadable' | 'misplaced' | 'unknown_version';

export interface ForgedRecord {
  action: ForgedRecordAction;
  /**
   * Where it was found (a Redis key, or the record's fingerprint): one alarm per place and
   * window. Kept in this node's memory only: it may name a session.
   */
  recordKey: string;
  reason: ForgeryReason;
  target: { type: string; id: string } | null;
  details: Record<string, unknown>;
}

/** The first 16 hex digits of a record's SHA-256: ties an alarm to the record without copying it. */
export function recordFingerprint(raw: string): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

/**
 * Raises the `critical` audit event for a forged Redis record, straight into Postgres (not
 * through Redis, which whoever forged it can write). Rate-limited in this node's memory, not
 * in Redis, for the same reason: once per record key per `perRecordMs`, and at most
 * `perMinute` alarms a minute, so a flood of forged records cannot flood the chain; the next
 * alarm says how many were suppressed. Every forged record is refused and deleted whether or
 * not its alarm is raised.
 */
export class ForgedRecordAlarm {
  private readonly raised = new Map<string, number>();
  private windowStartedAt = 0;
  private inWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly pool: Pool,
    private readonly log: Logger,
    private readonly limits: { perRecordMs: number; perMinute: number } = { perRecordMs: 10 * 60_000, perMinute: 20 },
  ) {}

  /**
   * Records the event unless rate-limited; true if it was recorded. Throws if Postgres
   * cannot take it (the caller decides whether to retry); the record key is then not
   * counted as alarmed.
   */
  async raise(record: ForgedRecord): Promise<boolean> {
    const now = Date.now();
    for (const [key, at] of this.raised) if (now - at >= this.limits.perRecordMs) this.raised.delete(key);
    if (now - this.windowStartedAt >= 60_000) {
      this.windowStartedAt = now;
      this.inWindow = 0;
    }
    if (this.raised.has(record.recordKey) || this.inWindow >= this.limits.perMinute) {
      this.suppressed += 1;
      return false;
    }
    this.raised.set(record.recordKey, now);
    this.inWindow += 1;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.log.error({ action: record.action, reason: record.reason }, 'forged record in Redis refused and deleted');
    try {
      await recordAuditEvent(this.pool, SYSTEM_CONTEXT, {
        action: record.action,
        outcome: 'denied',
        target: record.target,
        details: { ...record.details, reason: record.reason, ...(suppressed > 0 ? { alarmsSuppressedSinceLast: suppressed } : {}) },
      });
      return true;
    } catch (error) {
      this.raised.delete(record.recordKey);
      this.inWindow -= 1;
      this.suppressed += suppressed;
      throw error;
    }
  }
}
