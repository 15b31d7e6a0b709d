import { randomBytes } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';

/** Which ceremony a challenge is for; a challenge issued for one is useless for another. */
export type Ceremony = 'register' | 'signin' | 'step-up' | 'ownership';

/**
 * Single-use WebAuthn challenges (docs/architecture.md invariant 1): 32 random bytes, stored in
 * Redis under the session id and the ceremony, with a TTL of at most two minutes, and
 * consumed atomically with GETDEL before the response is verified. SimpleWebAuthn does not
 * stop a replayed response by itself; this does.
 */
export class ChallengeStore {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
  ) {}

  private key(sessionId: string, ceremony: Ceremony): string {
    return `challenge:${ceremony}:${sessionId}`;
  }

  /**
   * Makes a new challenge for this session and ceremony, replacing any earlier one.
   * `withRecord` adds to the MULTI that stores it (its audit record, for the outbox): the
   * challenge and its record are stored together or not at all.
   */
  async issue(sessionId: string, ceremony: Ceremony, withRecord?: (multi: ChainableCommander) => void): Promise<string> {
    const challenge = randomBytes(32).toString('base64url');
    const multi = this.redis.multi().set(this.key(sessionId, ceremony), challenge, 'EX', this.ttlSeconds);
    withRecord?.(multi);
    const results = await multi.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('the challenge was not stored');
    return challenge;
  }

  /** Takes the challenge out: a second call (a replay) finds nothing. */
  async consume(sessionId: string, ceremony: Ceremony): Promise<string | null> {
    return this.redis.getdel(this.key(sessionId, ceremony));
  }
}
