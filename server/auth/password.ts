import argon2 from 'argon2';
import { randomBytes } from 'node:crypto';
import { HashLimiter } from './hashLimiter.ts';

/** docs/architecture.md: Argon2id with m = 48 MiB, t = 3, p = 1. */
export const ARGON2_OPTIONS = {
  type: argon2.argon2id,
  memoryCost: 48 * 1024, // KiB
  timeCost: 3,
  parallelism: 1,
} as const;

export type PasswordCheck = { ok: true; needsRehash: boolean } | { ok: false };

/** Hashing and verification, always through the limiter. */
export class PasswordHasher {
  /** Verified against when the user does not exist, so unknown users cost the same time. */
  private dummyHash: Promise<string>;

  constructor(readonly limiter: HashLimiter) {
    this.dummyHash = argon2.hash(randomBytes(16).toString('hex'), ARGON2_OPTIONS);
  }

  hash(password: string): Promise<string> {
    return this.limiter.run(() => argon2.hash(password, ARGON2_OPTIONS));
  }

  /** With `hash: null` (no such user, or no password yet) it burns one verification and fails. */
  async verify(hash: string | null, password: string): Promise<PasswordCheck> {
    const target = hash ?? (await this.dummyHash);
    const matches = await this.limiter.run(() => argon2.verify(target, password).catch(() => false));
    if (!matches || hash === null) return { ok: false };
    return { ok: true, needsRehash: argon2.needsRehash(hash, ARGON2_OPTIONS) };
  }
}
