import { createHash } from 'node:crypto';
import session from 'express-session';
import type { Request } from 'express';
import type { ChainableCommander, Redis } from 'ioredis';
import { recordFingerprint, type ForgedRecordAlarm, type ForgeryReason } from '../crypto/forgedRecordAlarm.ts';
import type { RecordMac } from '../crypto/recordMac.ts';
import type { Logger } from '../log.ts';
import { defineCompareAndDelete } from '../redis.ts';
import type { SessionReadCache } from './sessionReadCache.ts';

/** A live session found through the admin index, with when it was last seen (ms since epoch). */
export interface LiveSession {
  sid: string;
  data: session.SessionData;
  lastSeenAt: number;
}

/** What a store needs to seal its records and to raise the alarm for one it did not make. */
export interface SessionIntegrity {
  mac: RecordMac;
  forgedRecords: Pick<ForgedRecordAlarm, 'raise'>;
  log: Pick<Logger, 'warn' | 'error'>;
}

/**
 * An express-session store on ioredis. It keeps, besides each session, a per-user set of
 * session ids so that every session of a user can be ended at once (user disabled, key
 * suspended) on whichever node holds the request.
 *
 * Every session record is sealed (sealSession): a MAC under the nodes' record key
 * (GRANT_SIGNING_KEYS) over its JSON and its session id, so write access to Redis alone can no
 * longer make a session for anyone, edit one (its user, stage, step-up time) or move one under
 * another id (threat-model G4). A record without a valid MAC is no session: it is refused,
 * deleted, ends what hung on that id (its grant, its sockets) and raises a critical
 * `session.forged_record` event, rate-limited.
 *
 * Keys (under the client's keyPrefix): `sess:<sid>` → `<MAC> <JSON>`, TTL = the cookie's maxAge;
 * `user-sessions:<userId>` and `key-sessions:<keyId>` → sets of sids, TTL refreshed on
 * every write, so a suspended or removed key can end the sessions it signed in;
 * `live-sessions` → signed-in sids scored by when they were last seen, for the admin's live
 * view: one ZADD pipelined with the write or touch every request makes anyway, pruned by
 * score (an idle session's entry is older than the idle timeout) when it is read.
 */
export class RedisSessionStore extends session.Store {
  /** Called after a session is destroyed here (sign-out, regeneration, user or key ended). */
  onDestroyed: ((sid: string) => void) | null = null;
  /** When this node last refreshed each session's TTL, oldest first. */
  private readonly touchedAt = new Map<string, number>();
  /**
   * The record each session id last had when its MAC verified here: the same bytes read again
   * (most reads, from the read cache) are not verified again. Oldest first, bounded.
   */
  private readonly verified = new Map<string, string>();

  constructor(
    private readonly redis: Redis,
    private readonly integrity: SessionIntegrity,
    /** Fallback TTL and the TTL of the per-user index. */
    private readonly ttlMs: number,
    private readonly indexTtlMs: number,
    /**
     * A session's TTL and last-seen time are refreshed at most this often by one node, so a
     * burst of requests (chat streams, a busy tab) is not a Redis MULTI each. An idle session
     * may therefore end up to this much before its idle timeout.
     */
    private readonly touchIntervalMs = 5_000,
    /** Repeated reads of a session served from memory while Redis reports its changes; null reads Redis every time. */
    private readonly readCache: SessionReadCache | null = null,
  ) {
    super();
    defineCompareAndDelete(redis);
  }

  /** Closes the read cache's connections (the main client belongs to the caller). */
  async close(): Promise<void> {
    await this.readCache?.close();
  }

  /** How the read cache has answered (null without one): for tests and diagnostics. */
  readCacheCounts(): SessionReadCache['counts'] | null {
    return this.readCache?.counts ?? null;
  }

  /**
   * This node changes a session: its cached copy goes now, before Redis's invalidation arrives.
   * Called before the write (a read under way then keeps nothing) and after it (a read made in
   * between brought back the old value).
   */
  private forget(sid: string): void {
    this.readCache?.evict(sessionKey(sid));
    this.verified.delete(sid);
  }

  /** A stored record opened: its data if a node sealed it for this session id. */
  private open(sid: string, raw: string): OpenedSession {
    if (this.verified.get(sid) === raw) return parseSealed(raw);
    const opened = openSession(this.integrity.mac, sid, raw);
    if ('data' in opened) {
      this.verified.delete(sid);
      this.verified.set(sid, raw);
      if (this.verified.size > MAX_VERIFIED) this.verified.delete(this.verified.keys().next().value!);
    }
    return opened;
  }

  /**
   * A record no node made (or made for another session id): it is no session. It is deleted
   * (only if it still holds what was read), whatever hangs on the id ends with it (onDestroyed:
   * its grant, its sockets), and a critical event is raised, rate-limited (ForgedRecordAlarm).
   * Neither step failing changes the refusal.
   */
  private discardForged(sid: string, raw: string, reason: ForgeryReason): void {
    const fingerprint = recordFingerprint(raw);
    const claimed = claimedIds(raw);
    this.forget(sid);
    this.redis
      .compareAndDelete(sessionKey(sid), raw)
      .then((deleted) => {
        this.forget(sid);
        if (deleted === 1) this.onDestroyed?.(sid);
      })
      .catch((error: unknown) => this.integrity.log.warn({ err: (error as Error).message }, 'forged session record not deleted'));
    this.integrity.forgedRecords
      .raise({
        action: 'session.forged_record',
        // One alarm per forged record in a place, however often it is read; the handle, never the session id.
        recordKey: `sess:${sessionHandle(sid)}#${fingerprint}`,
        reason,
        target: claimed.userId ? { type: 'user', id: claimed.userId } : null,
        // What the record claims, never the session id it sat under (a bearer secret): its public handle.
        details: { record: 'session', session: sessionHandle(sid), fingerprint, claimed },
      })
      .catch((error: unknown) => this.integrity.log.error({ err: (error as Error).message }, 'forged session record refused, but its audit event could not be recorded'));
  }

  /** The sessions stored under `sids` that a node sealed (null where none is), refusing forged ones. */
  private async readMany(sids: readonly string[]): Promise<Array<session.SessionData | null>> {
    if (sids.length === 0) return [];
    const values = await this.redis.mget(sids.map(sessionKey));
    return values.map((raw, i) => {
      if (raw === null) return null;
      const opened = this.open(sids[i]!, raw);
      if ('data' in opened) return opened.data;
      this.discardForged(sids[i]!, raw, opened.forged);
      return null;
    });
  }

  /** True if this node refreshed the session within the interval; otherwise notes that it does now. */
  private touchedRecently(sid: string): boolean {
    const now = Date.now();
    const last = this.touchedAt.get(sid);
    if (last !== undefined && now - last < this.touchIntervalMs) return true;
    // Re-inserted, so the map stays in time order and old entries are dropped from its front.
    this.touchedAt.delete(sid);
    this.touchedAt.set(sid, now);
    for (const [oldSid, at] of this.touchedAt) {
      if (now - at < this.touchIntervalMs) break;
      this.touchedAt.delete(oldSid);
    }
    return false;
  }

  private ttlFor(data: session.SessionData): number {
    const maxAge = data.cookie?.maxAge;
    return typeof maxAge === 'number' && maxAge > 0 ? Math.ceil(maxAge) : this.ttlMs;
  }

  override get(sid: string, callback: (err: unknown, data?: session.SessionData | null) => void): void {
    (this.readCache ? this.readCache.get(sessionKey(sid)) : this.redis.get(sessionKey(sid))).then(
      (raw) => {
        if (raw === null) return callback(null, null);
        const opened = this.open(sid, raw);
        if ('data' in opened) return callback(null, opened.data);
        // Not a session any node made: no session, rather than an error for every request.
        this.discardForged(sid, raw, opened.forged);
        callback(null, null);
      },
      (err: unknown) => callback(err),
    );
  }

  /** express-session builds a request's session from what get() found here: such a session is marked as one that existed. */
  override createSession(req: Request, data: session.SessionData): session.Session & session.SessionData {
    const created = super.createSession(req, data);
    Object.defineProperty(created, LOADED, { value: true });
    return created;
  }

  override set(sid: string, data: session.SessionData, callback?: (err?: unknown) => void): void {
    this.forget(sid);
    if ((data as { [LOADED]?: boolean })[LOADED]) return this.update(sid, data, callback);
    const multi = this.redis.multi().set(sessionKey(sid), sealSession(this.integrity.mac, sid, data), 'PX', this.ttlFor(data));
    if (data.userId) {
      multi.sadd(userKey(data.userId), sid).pexpire(userKey(data.userId), this.indexTtlMs);
    }
    if (data.keyId) {
      multi.sadd(keySessionsKey(data.keyId), sid).pexpire(keySessionsKey(data.keyId), this.indexTtlMs);
    }
    // Only signed-in sessions are listed: pending ones (password done, key not yet) are not sessions of anyone yet.
    if (data.stage === 'full') multi.zadd(LIVE_SESSIONS, Date.now(), sid);
    multi.exec().then(
      () => {
        this.forget(sid);
        callback?.();
      },
      (err: unknown) => callback?.(err),
    );
  }

  /**
   * Saves a session that a request loaded (a step-up, a cookie refresh): only if it still exists
   * (SET XX), so one ended while the request ran (sign-out, key suspended, user disabled) is never
   * brought back by its save. Its indexes were written when it was created, and need nothing more.
   */
  private update(sid: string, data: session.SessionData, callback?: (err?: unknown) => void): void {
    const multi = this.redis.multi().set(sessionKey(sid), sealSession(this.integrity.mac, sid, data), 'PX', this.ttlFor(data), 'XX');
    if (data.stage === 'full') multi.zadd(LIVE_SESSIONS, 'XX', Date.now(), sid);
    multi.exec().then(
      () => {
        this.forget(sid);
        callback?.();
      },
      (err: unknown) => callback?.(err),
    );
  }

  override touch(sid: string, data: session.SessionData, callback?: (err?: unknown) => void): void {
    if (this.touchedRecently(sid)) {
      callback?.();
      return;
    }
    // XX: refreshes the last-seen time of an indexed (signed-in) session, never adds one.
    const multi = this.redis.multi().pexpire(sessionKey(sid), this.ttlFor(data));
    if (data.stage === 'full') multi.zadd(LIVE_SESSIONS, 'XX', Date.now(), sid);
    multi.exec().then(
      () => callback?.(),
      (err: unknown) => callback?.(err),
    );
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    this.remove(sid).then(
      () => callback?.(),
      (err: unknown) => callback?.(err),
    );
  }

  /** `withChange` adds to the MULTI that removes the session (its audit record, for the outbox). */
  private async remove(sid: string, withChange?: (multi: ChainableCommander) => void): Promise<void> {
    this.touchedAt.delete(sid);
    this.forget(sid);
    const raw = await this.redis.get(sessionKey(sid));
    // The ids only say which index entries to remove: read as claimed, sealed or not.
    const { userId, keyId } = raw ? claimedIds(raw) : {};
    const multi = this.redis.multi().del(sessionKey(sid)).zrem(LIVE_SESSIONS, sid);
    if (userId) multi.srem(userKey(userId), sid);
    if (keyId) multi.srem(keySessionsKey(keyId), sid);
    withChange?.(multi);
    await multi.exec();
    this.forget(sid);
    if (raw) this.onDestroyed?.(sid);
  }

  /** Ends every session of a user; returns how many were live. */
  async destroyAllForUser(userId: string): Promise<number> {
    return this.destroyIndexed(userKey(userId), null);
  }

  /** Ends every session that signed in with a key, except (optionally) one; returns how many were live. */
  async destroyAllForKey(keyId: string, exceptSid: string | null = null): Promise<number> {
    return this.destroyIndexed(keySessionsKey(keyId), exceptSid);
  }

  private async destroyIndexed(indexKey: string, exceptSid: string | null): Promise<number> {
    const sids = (await this.redis.smembers(indexKey)).filter((sid) => sid !== exceptSid);
    const multi = this.redis.multi();
    for (const sid of sids) {
      this.forget(sid);
      multi.del(sessionKey(sid));
    }
    if (exceptSid) multi.srem(indexKey, ...(sids.length ? sids : ['-']));
    else multi.del(indexKey);
    if (sids.length) multi.zrem(LIVE_SESSIONS, ...sids);
    const results = (await multi.exec()) ?? [];
    for (const sid of sids) this.forget(sid);
    const ended = sids.filter((_, i) => results[i]?.[1] === 1);
    for (const sid of ended) this.onDestroyed?.(sid);
    return ended.length;
  }

  /** Session ids of a user that are still live (the index may hold expired ones). */
  async sessionIdsForUser(userId: string): Promise<string[]> {
    return (await this.sessionsForUser(userId)).map((s) => s.sid);
  }

  /** A user's live sessions with their data. */
  async sessionsForUser(userId: string): Promise<Array<{ sid: string; data: session.SessionData }>> {
    const sids = await this.redis.smembers(userKey(userId));
    const live: Array<{ sid: string; data: session.SessionData }> = [];
    (await this.readMany(sids)).forEach((data, i) => {
      if (data) live.push({ sid: sids[i]!, data });
    });
    return live;
  }

  /**
   * Signed-in sessions of every user, most recently seen first, and how many there are.
   * Entries not seen within the idle timeout are dropped first; ones whose session is gone
   * anyway (expired between the two reads) are dropped as they are found.
   */
  async listLive(limit: number): Promise<{ sessions: LiveSession[]; total: number }> {
    await this.redis.zremrangebyscore(LIVE_SESSIONS, '-inf', Date.now() - this.ttlMs);
    const [entries, total] = await Promise.all([
      this.redis.zrevrange(LIVE_SESSIONS, 0, limit - 1, 'WITHSCORES'),
      this.redis.zcard(LIVE_SESSIONS),
    ]);
    const sids = entries.filter((_, i) => i % 2 === 0);
    if (sids.length === 0) return { sessions: [], total };
    const sessions: LiveSession[] = [];
    const gone: string[] = [];
    (await this.readMany(sids)).forEach((data, i) => {
      if (data?.stage !== 'full') return void gone.push(sids[i]!);
      sessions.push({ sid: sids[i]!, data, lastSeenAt: Number(entries[i * 2 + 1]) });
    });
    if (gone.length) await this.redis.zrem(LIVE_SESSIONS, ...gone);
    return { sessions, total: total - gone.length };
  }

  /** The live session behind a public handle (see sessionHandle), or null. */
  async findLiveByHandle(handle: string): Promise<LiveSession | null> {
    const sids = await this.redis.zrange(LIVE_SESSIONS, '0', '-1');
    const sid = sids.find((candidate) => sessionHandle(candidate) === handle);
    if (!sid) return null;
    const [[data], score] = await Promise.all([this.readMany([sid]), this.redis.zscore(LIVE_SESSIONS, sid)]);
    return data?.stage === 'full' ? { sid, data, lastSeenAt: Number(score) } : null;
  }

  async destroyOne(sid: string, withChange?: (multi: ChainableCommander) => void): Promise<void> {
    await this.remove(sid, withChange);
  }
}

/** A session's public handle: never the session id itself, which is a bearer secret. */
export function sessionHandle(sid: string): string {
  return createHash('sha256').update(`argus-session:${sid}`).digest('hex').slice(0, 32);
}

const LIVE_SESSIONS = 'live-sessions';

/** Marks a session object built from a stored one (not serialised: a symbol key). */
const LOADED = Symbol('argus.sessionLoaded');

function sessionKey(sid: string): string {
  return `sess:${sid}`;
}

function userKey(userId: string): string {
  return `user-sessions:${userId}`;
}

function keySessionsKey(keyId: string): string {
  return `key-sessions:${keyId}`;
}

/** How many verified records a store remembers (MAX_VERIFIED × a record of ~0.5 KB). */
const MAX_VERIFIED = 10_000;

type OpenedSession = { data: session.SessionData } | { forged: ForgeryReason };

/**
 * A session as it is kept in Redis: `<MAC> <JSON>`, the MAC over the exact JSON and the session
 * id (RecordMac.signText), so the record is no session under any other id.
 */
export function sealSession(mac: RecordMac, sid: string, data: session.SessionData): string {
  const json = JSON.stringify(data);
  return `${mac.signText('session', sid, json)} ${json}`;
}

/** A stored record's data if its MAC verifies for this session id; otherwise why it is no session. */
export function openSession(mac: RecordMac, sid: string, raw: string): OpenedSession {
  // A record from before the seal (or written by hand) is plain JSON: a MAC never starts with "{".
  if (raw.startsWith('{')) return { forged: 'missing_mac' };
  const space = raw.indexOf(' ');
  if (space < 0) return { forged: 'unreadable' };
  const verified = mac.verifyText('session', sid, raw.slice(space + 1), raw.slice(0, space));
  if (!verified.valid) return { forged: verified.reason };
  return parseSealed(raw);
}

/** The JSON of a record already known to be sealed. */
function parseSealed(raw: string): OpenedSession {
  try {
    const data: unknown = JSON.parse(raw.slice(raw.indexOf(' ') + 1));
    if (typeof data === 'object' && data !== null && !Array.isArray(data)) return { data: data as session.SessionData };
  } catch {
    // Sealed but not JSON: nothing a node writes.
  }
  return { forged: 'unreadable' };
}

/** What a record says about whose it is, sealed or not, trusted for nothing but index clean-up and an alarm's details. */
function claimedIds(raw: string): { userId?: string; keyId?: string } {
  try {
    const { userId, keyId } = JSON.parse(raw.startsWith('{') ? raw : raw.slice(raw.indexOf(' ') + 1)) as { userId?: unknown; keyId?: unknown };
    const text = (value: unknown) => (typeof value === 'string' ? value.slice(0, 64) : undefined);
    return {
      ...(text(userId) ? { userId: text(userId) } : {}),
      ...(text(keyId) ? { keyId: text(keyId) } : {}),
    };
  } catch {
    return {};
  }
}
