import type { Config } from '../config.ts';
import { checkMigrations, migrate } from '../db/migrate.ts';
import { createPool, type Pool } from '../db/pool.ts';
import { describeExcessPrivileges, hasLeastPrivilege, readDatabasePrivileges, type DatabasePrivileges } from '../db/privileges.ts';
import type { Logger } from '../log.ts';
import { ensureEmbeddedAppRole, startEmbeddedPostgres } from './embeddedPostgres.ts';

export interface PreparedDatabase {
  /** What the server's pool and listener connect with: the application role (member of argus_app). */
  url: string;
  /** Stops the embedded PostgreSQL, if one was started. */
  stop(): Promise<void>;
}

/**
 * Makes the database ready before a node (or the CLI) opens its pool, keeping the two roles of
 * sql/000015 apart: migrations run as the owner, the server connects as the application role.
 *
 * - No DATABASE_URL: the embedded PostgreSQL is started and migrated as its superuser, and the
 *   server connects as `argus_server` (created here on first use).
 * - DATABASE_OWNER_URL set: migrations run with it, and the server connects with DATABASE_URL.
 * - Neither: the server never migrates as its own role. Pending migrations (or drift) stop
 *   start-up with a message that says to run `npm run migrate`.
 *
 * `migrateWithDatabaseUrl` is for `npm run migrate` only: without DATABASE_OWNER_URL it falls
 * back to DATABASE_URL (a single-role deployment; the CLI warns).
 */
export async function prepareDatabase({
  config,
  log,
  migrateWithDatabaseUrl = false,
}: {
  config: Config;
  log: Logger;
  migrateWithDatabaseUrl?: boolean;
}): Promise<PreparedDatabase> {
  if (!config.databaseUrl) {
    // Each node process (each of ARGUS_WORKERS) pools 10 connections and listens on 2 more; the CLI and tests need a few.
    const maxConnections = Math.max(100, 20 + 12 * config.workers);
    const embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPorts.postgres, log, maxConnections });
    try {
      await migrateAs(embedded.ownerUrl, log);
      const url = await ensureEmbeddedAppRole({ ownerUrl: embedded.ownerUrl, dataDir: config.dataDir, log });
      return { url, stop: embedded.stop };
    } catch (error) {
      await embedded.stop().catch(() => undefined);
      throw error;
    }
  }
  const stop = async () => undefined;
  if (config.databaseOwnerUrl) {
    await migrateAs(config.databaseOwnerUrl, log);
    return { url: config.databaseUrl, stop };
  }
  if (migrateWithDatabaseUrl) {
    // The CLI has said so to the person running it (server/cli.ts).
    await migrateAs(config.databaseUrl, log);
    return { url: config.databaseUrl, stop };
  }
  const pool = createPool(config.databaseUrl, log, 1);
  try {
    await checkMigrations(pool);
  } finally {
    await pool.end();
  }
  return { url: config.databaseUrl, stop };
}

async function migrateAs(ownerUrl: string, log: Logger): Promise<void> {
  const pool = createPool(ownerUrl, log, 1);
  try {
    await migrate(pool, log);
  } finally {
    await pool.end();
  }
}

/**
 * Start-up check of the server's own role. A role that can write or alter the audit tables
 * (a single-role deployment from before sql/000015, or a superuser) still works, so this
 * warns loudly rather than refusing, and /readyz reports it (`database.leastPrivilege`).
 */
export async function checkServerRole(pool: Pool, log: Logger): Promise<DatabasePrivileges> {
  const privileges = await readDatabasePrivileges(pool);
  if (!hasLeastPrivilege(privileges)) {
    log.warn(
      { role: privileges.role, excess: describeExcessPrivileges(privileges) },
      'LEAST PRIVILEGE NOT IN FORCE: the database role this server connects as can rewrite the audit log; the append-only ' +
        'triggers and hash chain then stop mistakes, not someone holding these credentials. Connect as a member of argus_app ' +
        'and migrate with DATABASE_OWNER_URL (docs/deploy.md, "Database roles").',
    );
  }
  return privileges;
}
