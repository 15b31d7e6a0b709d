import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../server/config.ts';
import { createAdminClient } from '../server/db/pool.ts';
import { createLogger } from '../server/log.ts';
import { startArgus } from '../server/runtime.ts';
import { ADMIN_DATABASE_URL, TEST_REDIS_URL, clearRedisPrefix, databaseUrl, freePort } from '../server/test/env.ts';

/**
 * Starts one real Argus node (built SPA, API, real Postgres and Redis) for the browser
 * tests, on a database and Redis prefix of its own. Tests reach it through the env vars below.
 */
export default async function globalSetup() {
  const name = `argus_e2e_${randomBytes(5).toString('hex')}`;
  const admin = createAdminClient(ADMIN_DATABASE_URL);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();

  const port = await freePort();
  // A SIEM sink the audit page can show: signed checkpoints appended to a local file.
  const sinkDir = mkdtempSync(path.join(tmpdir(), 'argus-e2e-sink-'));
  const redisPrefix = `argus-e2e:${randomBytes(6).toString('hex')}:`;
  // The record key (grants, sessions): given here so that a spec can seal a session it edits (e2e/stepUp.ts).
  const recordKeys = `e2e:${randomBytes(32).toString('base64url')}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(port),
    ARGUS_ORIGIN: `http://localhost:${port}`,
    DATABASE_URL: databaseUrl(name),
    // A fresh database: the node migrates it as the owner (the cluster's admin role).
    DATABASE_OWNER_URL: databaseUrl(name),
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: redisPrefix,
    SESSION_SECRET: randomBytes(32).toString('base64url'),
    GRANT_SIGNING_KEYS: recordKeys,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Every browser test signs in from the same address; the throttles have their own tests.
    SIGNIN_RATE_PER_MINUTE: '1000',
    // …and opens a socket on every page it visits (server/realtime/hub.test.ts tests the limit).
    WS_CONNECTIONS_PER_MINUTE_PER_IP: '1000',
    // e2e/admin-models.spec.ts's model server (FakeOpenAI) listens on 127.0.0.1.
    MODEL_HOST_ALLOWLIST: '127.0.0.1',
    AUDIT_CHECKPOINT_FILE: path.join(sinkDir, 'checkpoints.jsonl'),
  });
  const running = await startArgus(config, createLogger(config.logLevel));
  process.env.ARGUS_E2E_URL = config.origin;
  process.env.ARGUS_E2E_DATABASE_URL = config.databaseUrl!;
  // Tests that must make a step-up stale reach the node's sessions under this prefix.
  process.env.ARGUS_E2E_REDIS_PREFIX = redisPrefix;
  process.env.ARGUS_E2E_GRANT_SIGNING_KEYS = recordKeys;

  return async () => {
    await running.close();
    await clearRedisPrefix(redisPrefix);
    rmSync(sinkDir, { recursive: true, force: true });
    const cleanup = createAdminClient(ADMIN_DATABASE_URL);
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await cleanup.end();
  };
}
