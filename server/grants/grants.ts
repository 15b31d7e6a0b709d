import type { Redis } from 'ioredis';
import type { GrantEndReason, GrantView, HidDeviceInfo, PresenceMode } from '../../shared/api.ts';
import { SYSTEM_CONTEXT, type AuditContext, type AuditInput } from '../audit/record.ts';
import { recordFingerprint, type ForgedRecordAlarm, type ForgeryReason } from '../crypto/forgedRecordAlarm.ts';
import type { RecordMac } from '../crypto/recordMac.ts';
import type { Logger } from '../log.ts';
import type { AuditOutbox } from '../outbox/auditOutbox.ts';
import type { EventBus } from '../realtime/bus.ts';
import { grantsEnded, grantsIssued } from '../metrics.ts';
import { defineCompareAndDelete } from '../redis.ts';

/** A model-access grant as stored in Redis. Server-side only: it names the session. */
export interface Grant {
  id: string;
  userId: string;
  username: string;
  sessionId: string;
  keyId: string;
  keyNickname: string;
  models: string[];
  issuedAt: number;
  expiresAt: number;
  presenceMode: PresenceMode;
  device: HidDeviceInfo | null;
}

export function toGrantView(grant: Grant): GrantView {
  return {
    id: grant.id,
    models: grant.models,
    issuedAt: new Date(grant.issuedAt).toISOString(),
    expiresAt: new Date(grant.expiresAt).toISOString(),
    presenceMode: grant.presenceMode,
    keyId: grant.keyId,
    keyNickname: grant.keyNickname,
  };
}

export type GrantCheck = { allowed: true; grant: Grant } | { allowed: false; reason: 'no_grant' | 'model_not_covered' };

/** What makes grant records in Redis unforgeable (threat-model G4): the nodes' MAC key and the alarm for forgeries. */
export interface GrantIntegrity {
  mac: RecordMac;
  forgedRecords: ForgedRecordAlarm;
}

/**
 * The stored record's version, covered by its MAC. Version 1 is the first with a MAC: a record
 * from before (no `v`, no `mac`) is refused like any forgery, and simply needs a new touch.
 */
const GRANT_RECORD_VERSION = 1;

/** A grant read from Redis: one a node made, or why it is not. */
type OpenedGrant = { grant: Grant } | { forged: ForgeryReason; claimed: Record<string, unknown> | null };

/** Kept a little past expiry so the sweeper can still read and announce an expired grant. */
const GRACE_MS = 60_000;
/** The longest a grant can live (a model's grant_seconds is capped at an hour). */
const INDEX_TTL_MS = 3_600_000 + GRACE_MS;

/** Deletes KEYS[1] only if it still holds ARGV[1], so a newer grant is never removed by mistake. */
/**
 * Presence-bound grants (docs/architecture.md invariants 1–4). In Redis:
 *   sgrant:<sessionId>  → grant record, TTL = its lifetime: the one key read per restricted request;
 *   grant:<grantId>     → the same record, TTL + grace: claimed with GETDEL by whoever ends it;
 *   key-grants:<keyId>, user-grants:<userId> → grant ids, to end them by key or by user;
 *   grant-deadlines, grant-warnings → sorted sets the sweeper walks for expiry and warnings.
 * Grants are only ever created from a verified assertion and only ever end early: nothing
 * here extends one (a renewal is a new grant from a new assertion).
 *
 * A grant record is the grant's JSON with its version and a MAC over every field under the
 * nodes' key (invariant 10, threat-model G4), so write access to Redis alone cannot create one
 * or edit one (widen its models, extend its expiry, move it to another session). A record
 * whose MAC is missing or wrong is refused as no grant, deleted, and raises a critical
 * `grant.forged_record` event.
 */
export class GrantService {
  /**
   * Told each time a grant ends, with when the end began and when the grant was gone from
   * Redis (performance.now() times): for metrics and the revocation benchmark.
   */
  onEnded: ((info: { grant: Grant; reason: GrantEndReason; startedAt: number; goneAt: number }) => void) | null = null;

  constructor(
    private readonly redis: Redis,
    /** Grant ends are audited through the outbox: the record is queued with the change itself. */
    private readonly outbox: AuditOutbox,
    private readonly bus: EventBus,
    private readonly log: Logger,
    readonly warnSeconds: number,
    private readonly integrity: GrantIntegrity,
  ) {
    defineCompareAndDelete(redis);
  }

  /**
   * Stores a new grant for a session, ending the session's previous one ('replaced'; the
   * caller audits the renewal with the new grant).
   */
  async issue(grant: Grant): Promise<{ grant: Grant; replaced: Grant | null }> {
    const previous = await this.forSession(grant.sessionId);
    const stored = grantFields(grant);
    const json = this.seal(stored);
    const ttl = Math.max(1, stored.expiresAt - Date.now());
    // The new grant is in place before the old one ends, so whoever hears GRANT_REVOKED
    // 'replaced' (a stream following its grant) already finds the new one.
    await this.redis
      .multi()
      .set(`sgrant:${stored.sessionId}`, json, 'PX', ttl)
      .set(`grant:${stored.id}`, json, 'PX', ttl + GRACE_MS)
      .sadd(`key-grants:${stored.keyId}`, stored.id)
      .pexpire(`key-grants:${stored.keyId}`, INDEX_TTL_MS)
      .sadd(`user-grants:${stored.userId}`, stored.id)
      .pexpire(`user-grants:${stored.userId}`, INDEX_TTL_MS)
      .zadd('grant-deadlines', stored.expiresAt, stored.id)
      .zadd('grant-warnings', stored.expiresAt - this.warnSeconds * 1000, stored.id)
      .exec();
    grantsIssued.inc();
    // Its sgrant entry now holds the new grant, which compare-and-delete leaves alone.
    const replaced = previous ? await this.end(previous.id, 'replaced', null, { audit: false }) : null;
    return { grant: stored, replaced };
  }

  /** The record stored for a grant: its fields, the record version and their MAC. */
  seal(grant: Grant): string {
    const fields = { ...grantFields(grant), v: GRANT_RECORD_VERSION };
    return JSON.stringify({ ...fields, mac: this.integrity.mac.sign('grant', fields) });
  }

  /**
   * Reads a stored record: the grant, if a node made it (its MAC verifies under a listed key)
   * and it sits where it belongs (the sgrant slot of its own session, or grant:<its id>).
   */
  private open(raw: string, place: { sessionId: string } | { grantId: string }): OpenedGrant {
    let record: unknown;
    try {
      record = JSON.parse(raw);
    } catch {
      return { forged: 'unreadable', claimed: null };
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) return { forged: 'unreadable', claimed: null };
    const claimed = record as Record<string, unknown>;
    const { mac, ...fields } = claimed;
    const verified = this.integrity.mac.verify('grant', fields, mac);
    if (!verified.valid) return { forged: verified.reason, claimed };
    // The MAC covers `v`: only a future version of Argus writes another, and this one cannot read it.
    if (fields.v !== GRANT_RECORD_VERSION) return { forged: 'unknown_version', claimed };
    const grant = grantFields(fields as unknown as Grant);
    // A genuine record copied elsewhere (another session of the same user) is no grant there.
    if ('sessionId' in place ? grant.sessionId !== place.sessionId : grant.id !== place.grantId) return { forged: 'misplaced', claimed };
    return { grant };
  }

  /**
   * A record no node made: refused (the caller treats it as no grant), deleted (only if it
   * still holds what was read, so a genuine grant written since stays) and raised as a
   * critical audit event, rate-limited. Neither step failing changes the refusal.
   */
  private async discardForged(key: string, raw: string, opened: Extract<OpenedGrant, { forged: ForgeryReason }>, { deleted = false } = {}): Promise<void> {
    if (!deleted) await this.redis.compareAndDelete(key, raw).catch((error: unknown) => this.log.warn({ err: (error as Error).message }, 'forged grant record not deleted'));
    const claimed = opened.claimed ?? {};
    const text = (value: unknown) => (typeof value === 'string' ? value.slice(0, 64) : null);
    const claimedId = text(claimed.id);
    const fingerprint = recordFingerprint(raw);
    await this.integrity.forgedRecords
      .raise({
        action: 'grant.forged_record',
        // One alarm per forged record in a place, however often it is read or written again.
        recordKey: `${key}#${fingerprint}`,
        reason: opened.forged,
        target: claimedId ? { type: 'grant', id: claimedId } : null,
        // What the record claims, never the session it names; the fingerprint ties the event to the record.
        details: {
          record: key.startsWith('sgrant:') ? 'sgrant' : 'grant',
          fingerprint,
          claimed: { grantId: claimedId, userId: text(claimed.userId), keyId: text(claimed.keyId), macKeyId: text(typeof claimed.mac === 'string' ? claimed.mac.split('.')[0] : null) },
        },
      })
      .catch((error: unknown) => this.log.error({ err: (error as Error).message }, 'forged grant record refused, but its audit event could not be recorded'));
  }

  async forSession(sessionId: string): Promise<Grant | null> {
    const key = `sgrant:${sessionId}`;
    const json = await this.redis.get(key);
    if (!json) return null;
    const opened = this.open(json, { sessionId });
    if ('forged' in opened) {
      await this.discardForged(key, json, opened);
      return null;
    }
    return opened.grant.expiresAt > Date.now() ? opened.grant : null;
  }

  /**
   * The check every restricted request makes: one Redis read. If Redis cannot answer this
   * throws, and the caller denies (fail closed, invariant 4).
   */
  async check(sessionId: string, userId: string, modelId: string): Promise<GrantCheck> {
    const grant = await this.forSession(sessionId);
    if (!grant || grant.userId !== userId) return { allowed: false, reason: 'no_grant' };
    if (!grant.models.includes(modelId)) return { allowed: false, reason: 'model_not_covered' };
    return { allowed: true, grant };
  }

  /**
   * Ends a grant once, whoever asks first: GETDEL claims it, so two nodes ending the same
   * grant cannot both announce it. Announced to the grant's session and audited (unless
   * replaced by a renewal, which the caller audits). The audit record is queued in the same
   * MULTI that removes access, so a grant cannot end unrecorded even while Postgres is away;
   * it is appended to the chain before this returns whenever Postgres answers.
   */
  async end(grantId: string, reason: GrantEndReason, context: AuditContext | null, { audit = true } = {}): Promise<Grant | null> {
    const startedAt = performance.now();
    const json = await this.redis.getdel(`grant:${grantId}`);
    if (!json) return null;
    const opened = this.open(json, { grantId });
    if ('forged' in opened) {
      // Already deleted by GETDEL; there is nothing genuine to end or announce.
      await this.discardForged(`grant:${grantId}`, json, opened, { deleted: true });
      return null;
    }
    const { grant } = opened;
    const multi = this.redis
      .multi()
      .compareAndDelete(`sgrant:${grant.sessionId}`, json)
      .srem(`key-grants:${grant.keyId}`, grant.id)
      .srem(`user-grants:${grant.userId}`, grant.id)
      .zrem('grant-deadlines', grant.id)
      .zrem('grant-warnings', grant.id);
    if (audit) this.outbox.queue(multi, context ?? { ...SYSTEM_CONTEXT, actor: null }, grantEndRecord(grant, reason));
    await multi.exec();
    grantsEnded.inc({ reason });
    this.onEnded?.({ grant, reason, startedAt, goneAt: performance.now() });
    this.bus.notify({ sessionId: grant.sessionId }, { type: 'GRANT_REVOKED', grantId: grant.id, reason });
    if (audit) await this.outbox.drain();
    return grant;
  }

  async endForSession(sessionId: string, reason: GrantEndReason, context: AuditContext | null): Promise<Grant | null> {
    const grant = await this.forSession(sessionId);
    return grant ? this.end(grant.id, reason, context) : null;
  }

  async endForKey(keyId: string, reason: GrantEndReason, context: AuditContext | null): Promise<number> {
    return this.endAll(await this.redis.smembers(`key-grants:${keyId}`), reason, context);
  }

  async endForUser(userId: string, reason: GrantEndReason, context: AuditContext | null): Promise<number> {
    return this.endAll(await this.redis.smembers(`user-grants:${userId}`), reason, context);
  }

  private async endAll(ids: string[], reason: GrantEndReason, context: AuditContext | null): Promise<number> {
    const ended = await Promise.all(ids.map((id) => this.end(id, reason, context)));
    return ended.filter(Boolean).length;
  }

  /** Live grants (for the admin view), newest deadline last. */
  /** How many grants are live across all nodes. */
  async countLive(): Promise<number> {
    return this.redis.zcount('grant-deadlines', Date.now(), '+inf');
  }

  async listLive(limit = 500): Promise<Grant[]> {
    const ids = await this.redis.zrangebyscore('grant-deadlines', Date.now(), '+inf', 'LIMIT', 0, limit);
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => `grant:${id}`));
    const live: Grant[] = [];
    const forged: Array<Promise<void>> = [];
    values.forEach((raw, index) => {
      if (raw === null) return;
      const opened = this.open(raw, { grantId: ids[index]! });
      if ('forged' in opened) forged.push(this.discardForged(`grant:${ids[index]!}`, raw, opened));
      else live.push(opened.grant);
    });
    await Promise.all(forged);
    return live;
  }

  /**
   * One pass of the expiry sweeper: announces grants whose time is up and warns those about
   * to run out. Any node may run it; ZREM decides which node handles each grant.
   */
  async sweep(now = Date.now()): Promise<{ expired: number; warned: number }> {
    let expired = 0;
    let warned = 0;
    // Both sets read in one round trip: most passes find nothing in either.
    const [due, warnings] = await this.dueGrantIds(now);
    for (const id of due) {
      if ((await this.redis.zrem('grant-deadlines', id)) === 1 && (await this.end(id, 'expired', null))) expired += 1;
    }
    for (const id of warnings) {
      if ((await this.redis.zrem('grant-warnings', id)) !== 1) continue;
      const json = await this.redis.get(`grant:${id}`);
      if (!json) continue;
      const opened = this.open(json, { grantId: id });
      if ('forged' in opened) {
        await this.discardForged(`grant:${id}`, json, opened);
        continue;
      }
      const { grant } = opened;
      this.bus.notify({ sessionId: grant.sessionId }, { type: 'GRANT_EXPIRING', grantId: grant.id, expiresAt: new Date(grant.expiresAt).toISOString() });
      warned += 1;
    }
    return { expired, warned };
  }

  /** Ids of grants whose time is up, and of grants due a warning, at most 200 of each. */
  private async dueGrantIds(now: number): Promise<[string[], string[]]> {
    const results = await this.redis
      .pipeline()
      .zrangebyscore('grant-deadlines', '-inf', now, 'LIMIT', 0, 200)
      .zrangebyscore('grant-warnings', '-inf', now, 'LIMIT', 0, 200)
      .exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('grant sweeper read failed');
    return [results[0]![1] as string[], results[1]![1] as string[]];
  }

  /** Runs the sweeper every `intervalMs` until stopped. Errors (Redis away) are logged, not thrown. */
  startSweeper(intervalMs = 250): () => void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      this.sweep()
        .catch((error: unknown) => this.log.warn({ err: (error as Error).message }, 'grant sweeper pass failed'))
        .finally(() => (running = false));
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

/**
 * Exactly a grant's fields, in one order: what is stored and MACed, and what a verified record
 * is read back as (anything else a record carried is dropped).
 */
function grantFields(grant: Grant): Grant {
  return {
    id: grant.id,
    userId: grant.userId,
    username: grant.username,
    sessionId: grant.sessionId,
    keyId: grant.keyId,
    keyNickname: grant.keyNickname,
    models: grant.models,
    issuedAt: grant.issuedAt,
    expiresAt: grant.expiresAt,
    presenceMode: grant.presenceMode,
    device: grant.device ?? null,
  };
}

function grantEndRecord(grant: Grant, reason: GrantEndReason): AuditInput {
  return {
    action: reason === 'expired' ? 'grant.expired' : 'grant.revoked',
    outcome: 'success',
    target: { type: 'grant', id: grant.id },
    details: {
      // With the target, so a verifier reads which grant ended from the details alone (docs/presence-proofs.md).
      grantId: grant.id,
      reason,
      userId: grant.userId,
      username: grant.username,
      keyId: grant.keyId,
      models: grant.models,
      presenceMode: grant.presenceMode,
      livedMs: Math.min(Date.now(), grant.expiresAt) - grant.issuedAt,
    },
  };
}

