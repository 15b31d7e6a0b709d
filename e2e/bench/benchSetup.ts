/**
 * What every benchmark needs: a database and Redis prefix of its own (removed afterwards),
 * and a user enrolled over HTTP with a software security key, signed in by cookie.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../../server/config.ts';
import { createAdminClient, type Pool } from '../../server/db/pool.ts';
import { ADMIN_DATABASE_URL, TEST_REDIS_URL, clearRedisPrefix, databaseUrl } from '../../server/test/env.ts';
import { SoftAuthenticator } from '../../server/test/softAuthenticator.ts';
import { createUserWithEnrollment } from '../../server/users/createUser.ts';

export interface BenchDatabase {
  databaseUrl: string;
  redisPrefix: string;
  /** Environment for an Argus node on this database, quiet, with sign-in throttles lifted; `extra` wins. */
  nodeEnv(extra?: Record<string, string>): Record<string, string>;
  drop(): Promise<void>;
}

export async function benchDatabase(): Promise<BenchDatabase> {
  const name = `argus_bench_${randomBytes(4).toString('hex')}`;
  const redisPrefix = `argus-bench:${randomBytes(4).toString('hex')}:`;
  const admin = createAdminClient(ADMIN_DATABASE_URL);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const sessionSecret = randomBytes(32).toString('hex');
  return {
    databaseUrl: databaseUrl(name),
    redisPrefix,
    nodeEnv: (extra = {}) => ({
      NODE_ENV: 'test',
      PORT: '0',
      ARGUS_ORIGIN: 'http://bench.argus',
      DATABASE_URL: databaseUrl(name),
      // The database is fresh: the node migrates it as the owner (here the same admin role).
      DATABASE_OWNER_URL: databaseUrl(name),
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: redisPrefix,
      SESSION_SECRET: sessionSecret,
      LOG_LEVEL: 'silent',
      SIGNIN_RATE_PER_MINUTE: '10000',
      ROUTE_RATE_LIMIT_FACTOR: '10000',
      ...extra,
    }),
    async drop() {
      await clearRedisPrefix(redisPrefix);
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export interface BenchUser {
  username: string;
  password: string;
  userId: string;
  /** The signed-in session's cookie (name=value). */
  cookie: string;
  authenticator: SoftAuthenticator;
}

/** A same-origin JSON POST that must answer 200; returns the body and the session cookie it set, if any. */
async function postJson<T>(baseUrl: string, config: Config, cookie: string, path: string, body: unknown = {}): Promise<{ body: T; cookie: string | null }> {
  const response = await fetch(baseUrl + path, { method: 'POST', headers: { origin: config.origin, 'content-type': 'application/json', cookie }, body: JSON.stringify(body) });
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  // The session cookie only: a sign-in's answer may set others (the known-device cookie) too.
  const session = response.headers.getSetCookie().find((header) => header.startsWith('argus.sid='));
  return { body: (await response.json()) as T, cookie: session?.split(';')[0] ?? null };
}

/** Creates a user and completes enrollment over HTTP (password, then a software key). */
export async function enrollOverHttp(
  { baseUrl, pool, config }: { baseUrl: string; pool: Pool; config: Config },
  username = `bench${randomBytes(3).toString('hex')}`,
  password = 'a long loopback passphrase',
): Promise<BenchUser> {
  const created = await createUserWithEnrollment({ pool, config, username, displayName: username, role: 'user', context: { actor: null, ip: null, userAgent: 'bench' } });
  if (!created.created) throw new Error(`${username} exists`);
  const token = created.enrollment.url.split('/').pop()!;
  let cookie = '';
  const post = async (path: string, body: unknown = {}) => {
    const answer = await postJson<{ options: { challenge: string }; user: { id: string } }>(baseUrl, config, cookie, path, body);
    cookie = answer.cookie ?? cookie;
    return answer.body;
  };
  const authenticator = new SoftAuthenticator(config.origin, config.rpId);
  await post(`/api/enrollment/${token}/password`, { password });
  const { options } = await post(`/api/enrollment/${token}/key/options`);
  const done = await post(`/api/enrollment/${token}/key`, { response: authenticator.register(options) });
  return { username, password, userId: done.user.id, cookie, authenticator };
}

/** Unlocks the restricted models for a bench user's session with its software key (an assertion, as the SPA sends it). */
export async function unlockOverHttp({ baseUrl, config }: { baseUrl: string; config: Config }, user: BenchUser): Promise<void> {
  const { body } = await postJson<{ options: { challenge: string } }>(baseUrl, config, user.cookie, '/api/verify-key-ownership/options');
  await postJson(baseUrl, config, user.cookie, '/api/verify-key-ownership', { response: user.authenticator.assert(body.options), presenceMode: 'assertion' });
}
