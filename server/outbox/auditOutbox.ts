import { randomUUID } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
import { recordAuditEvent, type AuditContext, type AuditInput } from '../audit/record.ts';
import { recordFingerprint, type ForgedRecordAlarm, type ForgeryReason } from '../crypto/forgedRecordAlarm.ts';
import type { RecordMac } from '../crypto/recordMac.ts';
import { markOutboxRecordApplied, pruneAppliedOutboxRecords } from '../db/auditOutbox.ts';
import { pgErrorCode, withTransaction, type Pool } from '../db/pool.ts';
import { isDependencyDown } from '../http/errors.ts';
import type { Logger } from '../log.ts';

const OUTBOX_RECORD_VERSION = 1;

/** An audit record waiting in Redis for Postgres. */
export interface QueuedAuditRecord {
  /** The record version, covered by the MAC (1: the first with one; older records are refused). */
  v: typeof OUTBOX_RECORD_VERSION;
  id: string;
  /** When the change it records happened (ISO 8601); kept in the appended record's details. */
  occurredAt: string;
  context: AuditContext;
  input: AuditInput;
}

/** What makes outbox records unforgeable (threat-model G4): the nodes' MAC key and the alarm for forgeries. */
export interface OutboxIntegrity {
  mac: RecordMac;
  forgedRecords: ForgedRecordAlarm;
}

/** Redis keys (under the deployment's prefix). */
const OUTBOX = 'audit-outbox';
/** Genuine records that can never be appended (refused by Postgres for a reason other than being away). */
const DEAD_LETTERS = 'audit-outbox-dead';
const LOCK = 'audit-outbox-lock';
/** Longer than any one pass should take; a node that dies holding it blocks the others this long at most. */
const LOCK_TTL_MS = 30_000;
const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const APPLIED_IDS_KEPT_DAYS = 30;
/** Records appended in one transaction at most. */
const DRAIN_BATCH = 200;

/**
 * The durable outbox for audit records of changes made in Redis (docs/architecture.md invariant 8
 * where one transaction cannot hold both). The record is queued in the same MULTI as the
 * change, so the change and its record are stored together or not at all; a drainer on
 * every node (one at a time, under a Redis lock) then appends queued records to the audit
 * chain in order, as soon as Postgres answers. A record drained twice is appended once.
 *
 * Each record carries a MAC over its id, time, context and payload under the nodes' key
 * (threat-model G4), so write access to Redis alone cannot put words in the audit chain: a
 * record without a valid MAC is not appended, is deleted, and raises a critical
 * `audit.outbox_forged_record` event (written straight to Postgres).
 */
export class AuditOutbox {
  /** The pass queued behind the running one: later callers share it (it covers their records too). */
  private waiting: Promise<number> | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  /** Whether the last pass failed, so an outage is logged once rather than every second. */
  private failing = false;

  constructor(
    private readonly redis: Redis,
    private readonly pool: Pool,
    private readonly log: Logger,
    private readonly integrity: OutboxIntegrity,
  ) {}

  /** Adds `record` to `multi`, the MULTI that makes the change it records. */
  queue(multi: ChainableCommander, context: AuditContext, input: AuditInput, occurredAt = new Date()): ChainableCommander {
    const record: QueuedAuditRecord = { v: OUTBOX_RECORD_VERSION, id: randomUUID(), occurredAt: occurredAt.toISOString(), context, input };
    // MACed as the drainer will read it back: JSON drops undefined members and turns dates into strings.
    const fields = JSON.parse(JSON.stringify(record)) as Record<string, unknown>;
    return multi.rpush(OUTBOX, JSON.stringify({ ...fields, mac: this.integrity.mac.sign('audit-outbox', fields) }));
  }

  /** Records still waiting for Postgres. */
  pending(): Promise<number> {
    return this.redis.llen(OUTBOX);
  }

  /**
   * Appends every queued record it can, oldest first; resolves with how many it appended.
   * Never throws: while Postgres or Redis is away the records stay queued for the next pass.
   */
  drain(): Promise<number> {
    if (this.waiting) return this.waiting;
    const pass = this.tail.then(() => {
      this.waiting = null;
      return this.pass().then(
        (appended) => {
          if (this.failing && appended > 0) this.log.info({ appended }, 'audit outbox drained after an outage');
          this.failing = false;
          return appended;
        },
        (error: unknown) => {
          if (!this.failing) this.log.warn({ err: (error as Error).message }, 'audit outbox not drained; records stay queued');
          this.failing = true;
          return 0;
        },
      );
    });
    this.waiting = pass;
    this.tail = pass;
    return pass;
  }

  /** Drains every `intervalMs` until stopped (and forgets long-applied ids once an hour). */
  start(intervalMs = 1_000): () => void {
    let passes = 0;
    const timer = setInterval(() => {
      passes += 1;
      void this.drain();
      if (passes % Math.max(1, Math.round(3_600_000 / intervalMs)) === 0) {
        pruneAppliedOutboxRecords(this.pool, APPLIED_IDS_KEPT_DAYS).catch(() => undefined);
      }
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /**
   * Appends queued records oldest first, up to DRAIN_BATCH in one transaction (one commit for
   * a burst of records, not one each), and removes each by value once committed: a record
   * another node also took (a lock that ran out) is removed once and appended once.
   */
  private async pass(): Promise<number> {
    const token = await this.acquireLock();
    // Another node is draining: it takes every record, ours included, until the outbox is empty.
    if (!token) return 0;
    let appended = 0;
    try {
      for (;;) {
        const raws = await this.redis.lrange(OUTBOX, 0, DRAIN_BATCH - 1);
        if (raws.length === 0) return appended;
        // The records before the first forged one go together; a forged one raises its alarm alone, in its place.
        const run: Array<{ raw: string; record: QueuedAuditRecord }> = [];
        for (const raw of raws) {
          const opened = this.open(raw);
          if ('forged' in opened) {
            if (run.length === 0) {
              await this.refuseForged(raw, opened.forged);
              await this.redis.lrem(OUTBOX, 1, raw);
            }
            break;
          }
          run.push({ raw, record: opened.record });
        }
        if (run.length === 0) continue;
        appended += await this.appendRun(run);
        const removal = this.redis.multi();
        for (const { raw } of run) removal.lrem(OUTBOX, 1, raw);
        await removal.exec();
      }
    } finally {
      await this.redis.eval(RELEASE_LOCK, 1, LOCK, token).catch(() => undefined);
    }
  }

  /**
   * Appends a run of verified records in one transaction; how many were new. One that Postgres
   * refuses for good (a bug, not an outage) sends the run back one record at a time, so only
   * that one is set aside.
   */
  private async appendRun(run: ReadonlyArray<{ raw: string; record: QueuedAuditRecord }>): Promise<number> {
    try {
      return await withTransaction(this.pool, async (client) => {
        let appended = 0;
        for (const { record } of run) {
          if (!(await markOutboxRecordApplied(client, record.id))) continue;
          await recordAuditEvent(client, record.context, appendedInput(record));
          appended += 1;
        }
        return appended;
      });
    } catch (error) {
      if (isDependencyDown(error) || isTransient(error)) throw error;
      if (run.length === 1) {
        await this.deadLetter(run[0]!.raw, (error as Error).message);
        return 0;
      }
      let appended = 0;
      for (const one of run) appended += await this.appendRun([one]);
      return appended;
    }
  }

  /** Waits briefly for another node's pass, so a caller on a quiet cluster finds its record appended. */
  private async acquireLock(): Promise<string | null> {
    const token = randomUUID();
    for (let attempt = 0; attempt < 40; attempt += 1) {
      if ((await this.redis.set(LOCK, token, 'PX', LOCK_TTL_MS, 'NX')) === 'OK') return token;
      if ((await this.redis.llen(OUTBOX)) === 0) return null;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return null;
  }

  /** A record a node made (its MAC verifies under a listed key), or why not. */
  private open(raw: string): { record: QueuedAuditRecord } | { forged: ForgeryReason } {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return { forged: 'unreadable' };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { forged: 'unreadable' };
    const { mac, ...fields } = parsed as Record<string, unknown>;
    const verified = this.integrity.mac.verify('audit-outbox', fields, mac);
    if (!verified.valid) return { forged: verified.reason };
    if (fields.v !== OUTBOX_RECORD_VERSION) return { forged: 'unknown_version' };
    return { record: fields as unknown as QueuedAuditRecord };
  }

  /**
   * Raises the alarm for a forged record; the caller then removes it from the outbox. While
   * Postgres cannot take the alarm this throws, and the record stays queued until it can:
   * a forged record is never removed unreported (unless its alarm is rate-limited).
   */
  private async refuseForged(raw: string, reason: ForgeryReason): Promise<void> {
    const fingerprint = recordFingerprint(raw);
    try {
      await this.integrity.forgedRecords.raise({
        action: 'audit.outbox_forged_record',
        recordKey: `audit-outbox:${fingerprint}`,
        reason,
        target: null,
        details: { fingerprint, bytes: raw.length },
      });
    } catch (error) {
      if (isDependencyDown(error) || isTransient(error)) throw error;
      this.log.error({ err: (error as Error).message }, 'forged audit-outbox record deleted, but its audit event could not be recorded');
    }
  }

  private async deadLetter(raw: string, why: string): Promise<void> {
    this.log.error({ err: why }, 'audit outbox record cannot be appended; moved to the dead-letter list');
    await this.redis.rpush(DEAD_LETTERS, raw);
  }
}

/**
 * Postgres errors worth retrying: class 40 (serialization failure, deadlock), 53 (insufficient
 * resources), 55 (lock not available), 57 (statement timeout, shutdown).
 */
function isTransient(error: unknown): boolean {
  return /^(40|53|55|57)/.test(pgErrorCode(error) ?? '');
}

/** What a queued record appends: its input, with when it happened (the chain's time is when it was appended). */
function appendedInput(record: QueuedAuditRecord): AuditInput {
  return { ...record.input, details: { ...record.input.details, occurredAt: record.occurredAt } };
}
