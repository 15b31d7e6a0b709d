import type { ClientContext, Redis, Result } from 'ioredis';
import type { GrantEndReason, GrantView, HidDeviceInfo, PresenceMode } from '../../shared/api.ts';
import { SYSTEM_CONTEXT, type AuditContext, type AuditInput } from '../audit/record.ts';
import type { Logger } from '../log.ts';
import type { AuditOutbox } from '../outbox/auditOutbox.ts';
import type { EventBus } from '../realtime/bus.ts';
import { grantsEnded, grantsIssued } from '../metrics.ts';

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

/** Kept a little past expiry so the sweeper can still read and announce an expired grant. */
const GRACE_MS = 60_000;
/** The longest a grant can live (a model's grant_seconds is capped at an hour). */
const INDEX_TTL_MS = 3_600_000 + GRACE_MS;

/** Deletes KEYS[1] only if it still holds ARGV[1], so a newer grant is never removed by mistake. */
const COMPARE_AND_DELETE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/**
 * Presence-bound grants (docs/architecture.md invariants 1–4). In Redis:
 *   sgrant:<sessionId>  → grant JSON, TTL = its lifetime: the one key read per restricted request;
 *   grant:<grantId>     → the same JSON, TTL + grace: claimed with GETDEL by whoever ends it;
 *   key-grants:<keyId>, user-grants:<userId> → grant ids, to end them by key or by user;
 *   grant-deadlines, grant-warnings → sorted sets the sweeper walks for expiry and warnings.
 * Grants are only ever created from a verified assertion and only ever end early: nothing
 * here extends one (a renewal is a new grant from a new assertion).
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
  ) {
    redis.defineCommand('compareAndDelete', { numberOfKeys: 1, lua: COMPARE_AND_DELETE });
  }

  /**
   * Stores a new grant for a session, ending the session's previous one ('replaced'; the
   * caller audits the renewal with the new grant).
   */
  async issue(grant: Grant): Promise<{ grant: Grant; replaced: Grant | null }> {
    const previous = await this.forSession(grant.sessionId);
    const stored = grant;
    const json = JSON.stringify(stored);
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

  async forSession(sessionId: string): Promise<Grant | null> {
    const json = await this.redis.get(`sgrant:${sessionId}`);
    if (!json) return null;
    const grant = JSON.parse(json) as Grant;
    return grant.expiresAt > Date.now() ? grant : null;
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
    const grant = JSON.parse(json) as Grant;
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
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as Grant);
  }

  /**
   * One pass of the expiry sweeper: announces grants whose time is up and warns those about
   * to run out. Any node may run it; ZREM decides which node handles each grant.
   */
  async sweep(now = Date.now()): Promise<{ expired: number; warned: number }> {
    let expired = 0;
    let warned = 0;
    for (const id of await this.redis.zrangebyscore('grant-deadlines', '-inf', now, 'LIMIT', 0, 200)) {
      if ((await this.redis.zrem('grant-deadlines', id)) === 1 && (await this.end(id, 'expired', null))) expired += 1;
    }
    for (const id of await this.redis.zrangebyscore('grant-warnings', '-inf', now, 'LIMIT', 0, 200)) {
      if ((await this.redis.zrem('grant-warnings', id)) !== 1) continue;
      const json = await this.redis.get(`grant:${id}`);
      if (!json) continue;
      const grant = JSON.parse(json) as Grant;
      this.bus.notify({ sessionId: grant.sessionId }, { type: 'GRANT_EXPIRING', grantId: grant.id, expiresAt: new Date(grant.expiresAt).toISOString() });
      warned += 1;
    }
    return { expired, warned };
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

function grantEndRecord(grant: Grant, reason: GrantEndReason): AuditInput {
  return {
    action: reason === 'expired' ? 'grant.expired' : 'grant.revoked',
    outcome: 'success',
    target: { type: 'grant', id: grant.id },
    details: {
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

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    compareAndDelete(key: string, expected: string): Result<number, Context>;
  }
}
