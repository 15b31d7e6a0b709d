import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { query, withClient, type Pool, type PoolClient } from './pool.ts';
import type { Logger } from '../log.ts';

export const SQL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../sql');

/** Any constant works; it only has to be the same for every Argus process. */
const MIGRATION_LOCK_KEY = 0x4152_4755; // "ARGU"

const MIGRATION_FILE = /^(\d{6})_([a-z0-9_]+)\.sql$/;

/**
 * Migrations that were applied to real databases and later removed from sql/ on purpose.
 * Those databases keep their schema_migration row, so these must not count as missing; their
 * numbers are never reused (a new file with one would be skipped wherever the row exists).
 * Rules for sql/: sql/README.md.
 */
export const RETIRED_MIGRATIONS: readonly RetiredMigration[] = [
  {
    version: 6,
    name: 'audit_overview_index',
    // Deleted in 0690ed2 ("Overview: no new index after all"), 13 minutes after 8f44579 added it.
    reason:
      'added an (action, time) index on audit_event for the admin overview; at 500,000 events the planner never chose it, so it was removed. Databases migrated in between may still hold the unused index audit_event_action_time.',
  },
];

export interface RetiredMigration {
  version: number;
  name: string;
  reason: string;
}

export interface Migration {
  version: number;
  name: string;
  file: string;
  sql: string;
  /** SHA-256 of the file's bytes, hex: what `sha256sum` prints for it. */
  checksum: string;
}

/** An applied migration that no longer matches sql/. */
export type MigrationDrift =
  | { kind: 'edited'; file: string; recorded: string; actual: string }
  | { kind: 'missing'; file: string; newerThanRelease: boolean; replacedBy: string | null };

/** Start-up must stop: the schema the database has is not the one sql/ describes. */
export class MigrationDriftError extends Error {
  readonly code = 'MIGRATION_DRIFT';

  constructor(
    readonly drift: readonly MigrationDrift[],
    readonly dir: string,
  ) {
    super(
      `Refusing to start: migrations already applied to this database do not match ${dir}.\n` +
        drift.map((entry) => `- ${describeDrift(entry, dir)}`).join('\n'),
    );
    this.name = 'MigrationDriftError';
  }
}

/**
 * Migrations are pending, and this connection will not apply them: the server was started
 * without an owner URL (it never migrates as its own role), or migrate() was called as a role
 * that does not own the schema.
 */
export class MigrationsPendingError extends Error {
  readonly code = 'MIGRATIONS_PENDING';

  constructor(
    readonly pending: readonly Migration[],
    message: string,
  ) {
    super(message);
    this.name = 'MigrationsPendingError';
  }
}

interface AppliedMigration {
  version: number;
  name: string;
  checksum: string | null;
}

export async function listMigrations({ dir = SQL_DIR }: { dir?: string } = {}): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = MIGRATION_FILE.exec(file);
    // A name the pattern misses could never be matched to its schema_migration row.
    if (!match) throw new Error(`Migration file name ${file} does not match NNNNNN_name.sql`);
    const version = Number(match[1]);
    // Two branches that each took the next number: one would be recorded, the other skipped or failed.
    const twin = migrations.find((m) => m.version === version);
    if (twin) throw new Error(`Migrations ${path.basename(twin.file)} and ${file} share the number ${match[1]}: renumber the newer one`);
    // Databases that ran the retired migration already have a row with this number and would skip the new file.
    const retired = RETIRED_MIGRATIONS.find((r) => r.version === version);
    if (retired) throw new Error(`Migration ${file} reuses the number of retired migration ${fileName(retired)}: number it after the newest migration`);
    const content = await readFile(path.join(dir, file));
    migrations.push({
      version,
      name: match[2]!,
      file: path.join(dir, file),
      sql: content.toString('utf8'),
      checksum: createHash('sha256').update(content).digest('hex'),
    });
  }
  return migrations;
}

/**
 * Applies pending migrations, each in its own transaction. A session-level advisory lock
 * makes two processes starting at once take turns; the second finds nothing to do.
 *
 * Before anything is applied, every migration the database has already run is compared with
 * its file: one that was edited (SHA-256 differs) or is gone from `dir` throws
 * MigrationDriftError, because the schema would silently differ between databases. Rows from
 * before checksums were kept get the current file's checksum (trust on first use). Retired
 * migrations (000006, see RETIRED_MIGRATIONS) are expected to be absent.
 */
export async function migrate(pool: Pool, log: Logger, { dir = SQL_DIR }: { dir?: string } = {}): Promise<number[]> {
  const migrations = await listMigrations({ dir });
  return withClient(pool, async (client) => {
    await query(client, 'migration_lock', 'SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    try {
      // The server's own role (sql/000015) may read schema_migration but change nothing: it
      // gets no DDL, and pending migrations are refused plainly below instead of failing
      // half-way through the first file with "permission denied".
      const state = await migrationTableState(client);
      const owner = await ownsSchema(client);
      if (owner) await ensureMigrationTable(client, state);
      const applied = owner ? await readApplied(client) : state.table ? await readApplied(client, state) : [];
      const drift = findDrift({ applied, migrations });
      if (drift.length > 0) throw new MigrationDriftError(drift, dir);
      const appliedVersions = new Set(applied.map((row) => row.version));
      const pending = migrations.filter((migration) => !appliedVersions.has(migration.version));
      if (pending.length > 0 && !owner) throw pendingForRole(pending, await currentRole(client));
      // Left for the owner's next run: trust on first use needs to write schema_migration.
      if (owner) await recordMissingChecksums({ client, applied, migrations, log });

      const done: number[] = [];
      for (const migration of pending) {
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await query(
            client,
            'migration_record',
            'INSERT INTO schema_migration (version, name, checksum) VALUES ($1::int, $2::text, $3::text)',
            [migration.version, migration.name, migration.checksum],
          );
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new Error(`Migration ${path.basename(migration.file)} failed: ${(error as Error).message}`, { cause: error });
        }
        log.info({ version: migration.version, name: migration.name }, 'migration applied');
        done.push(migration.version);
      }
      return done;
    } finally {
      await query(client, 'migration_unlock', 'SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    }
  });
}

/**
 * What a node started without an owner URL does instead of migrate(): it never applies
 * migrations as its own role. Refuses drift exactly as migrate() does (MigrationDriftError),
 * and pending migrations with MigrationsPendingError, whose message says to run `npm run
 * migrate`. Only reads: the server's role may not write schema_migration.
 */
export async function checkMigrations(pool: Pool, { dir = SQL_DIR }: { dir?: string } = {}): Promise<void> {
  const migrations = await listMigrations({ dir });
  await withClient(pool, async (client) => {
    const state = await migrationTableState(client);
    const applied = state.table ? await readApplied(client, state) : [];
    const drift = findDrift({ applied, migrations });
    if (drift.length > 0) throw new MigrationDriftError(drift, dir);
    const appliedVersions = new Set(applied.map((row) => row.version));
    const pending = migrations.filter((migration) => !appliedVersions.has(migration.version));
    if (pending.length === 0) return;
    throw new MigrationsPendingError(
      pending,
      `Refusing to start: ${describePending(pending)} and DATABASE_OWNER_URL is not set; Argus never migrates as the role it serves with ` +
        `(${await currentRole(client)}). Run \`npm run migrate\` with DATABASE_OWNER_URL naming the role that owns the schema ` +
        `(docs/deploy.md, "Database roles"), then start Argus again; or set DATABASE_OWNER_URL for this node so that it migrates at start.`,
    );
  });
}

/** `checksum: false`: a table from before checksums were kept (only checkMigrations reads one as it is). */
async function readApplied(client: PoolClient, { checksum = true }: { checksum?: boolean } = {}): Promise<AppliedMigration[]> {
  const { rows } = await query<AppliedMigration>(
    client,
    checksum ? 'migration_applied' : 'migration_applied_without_checksums',
    `SELECT version, name, ${checksum ? 'checksum' : 'NULL::text AS checksum'} FROM schema_migration ORDER BY version`,
  );
  return rows;
}

async function migrationTableState(client: PoolClient): Promise<{ table: boolean; checksum: boolean }> {
  const { rows } = await query<{ table: boolean; checksum: boolean }>(
    client,
    'migration_table_state',
    `SELECT to_regclass('schema_migration') IS NOT NULL AS table,
            EXISTS (SELECT 1 FROM pg_attribute
                     WHERE attrelid = to_regclass('schema_migration') AND attname = 'checksum' AND NOT attisdropped) AS checksum`,
  );
  return rows[0]!;
}

/**
 * The table predates checksums: databases created before them have it without the column, so
 * the column is added rather than declared, and both kinds of database end up alike. The DDL
 * runs only when something is missing.
 */
async function ensureMigrationTable(client: PoolClient, state: { table: boolean; checksum: boolean }): Promise<void> {
  if (!state.table) {
    await query(
      client,
      'migration_table',
      `CREATE TABLE IF NOT EXISTS schema_migration (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
  }
  // NULL: applied before checksums were recorded; filled in on the next start.
  if (!state.checksum) {
    await query(
      client,
      'migration_checksum_column',
      `ALTER TABLE schema_migration ADD COLUMN IF NOT EXISTS checksum text CHECK (checksum ~ '^[0-9a-f]{64}$')`,
    );
  }
}

/**
 * Whether this connection's role may apply migrations: it owns schema_migration (or acts as
 * its owner), or, in a database that has none yet, may create tables.
 */
async function ownsSchema(client: PoolClient): Promise<boolean> {
  const { rows } = await query<{ owns: boolean }>(
    client,
    'migration_owner',
    `SELECT CASE WHEN to_regclass('schema_migration') IS NULL THEN has_schema_privilege(current_schema(), 'CREATE')
                 ELSE (SELECT pg_has_role(c.relowner, 'USAGE') FROM pg_class c WHERE c.oid = to_regclass('schema_migration'))
            END AS owns`,
  );
  return rows[0]?.owns === true;
}

async function currentRole(client: PoolClient): Promise<string> {
  const { rows } = await query<{ role: string }>(client, 'migration_current_role', 'SELECT current_user AS role');
  return rows[0]!.role;
}

function describePending(pending: readonly Migration[]): string {
  const files = pending.map((migration) => path.basename(migration.file));
  const listed = files.length > 3 ? `${files.slice(0, 3).join(', ')} and ${files.length - 3} more` : files.join(', ');
  return `${pending.length} migration${pending.length === 1 ? ' is' : 's are'} pending (${listed})`;
}

function pendingForRole(pending: readonly Migration[], role: string): MigrationsPendingError {
  return new MigrationsPendingError(
    pending,
    `${describePending(pending)}, but the role ${role} does not own the schema and cannot apply them. ` +
      `Run \`npm run migrate\` with DATABASE_OWNER_URL naming the owner role (docs/deploy.md, "Database roles").`,
  );
}

/** Every applied migration, except retired ones, must still be in sql/ with the bytes it had. */
function findDrift({ applied, migrations }: { applied: readonly AppliedMigration[]; migrations: readonly Migration[] }): MigrationDrift[] {
  const newest = Math.max(0, ...migrations.map((m) => m.version));
  const drift: MigrationDrift[] = [];
  for (const row of applied) {
    const file = fileName(row);
    const onDisk = migrations.find((m) => m.version === row.version);
    if (onDisk?.name === row.name) {
      // No recorded checksum yet: nothing to compare with, it is recorded instead.
      if (row.checksum !== null && row.checksum !== onDisk.checksum) {
        drift.push({ kind: 'edited', file, recorded: row.checksum, actual: onDisk.checksum });
      }
      continue;
    }
    // Removed on purpose, with the reason written down.
    if (RETIRED_MIGRATIONS.some((r) => r.version === row.version && r.name === row.name)) continue;
    drift.push({
      kind: 'missing',
      file,
      newerThanRelease: row.version > newest,
      replacedBy: onDisk ? path.basename(onDisk.file) : null,
    });
  }
  return drift;
}

/** Trust on first use: a row without a checksum takes the one of the file as it is now. */
async function recordMissingChecksums({
  client,
  applied,
  migrations,
  log,
}: {
  client: PoolClient;
  applied: readonly AppliedMigration[];
  migrations: readonly Migration[];
  log: Logger;
}): Promise<void> {
  const recorded: number[] = [];
  for (const row of applied) {
    if (row.checksum !== null) continue;
    // Retired rows have no file to take a checksum from; they stay NULL.
    const onDisk = migrations.find((m) => m.version === row.version && m.name === row.name);
    if (!onDisk) continue;
    await query(client, 'migration_checksum_record', 'UPDATE schema_migration SET checksum = $2::text WHERE version = $1::int AND checksum IS NULL', [
      row.version,
      onDisk.checksum,
    ]);
    recorded.push(row.version);
  }
  if (recorded.length > 0) log.info({ versions: recorded }, 'migration checksums recorded for migrations applied before checksums were kept');
}

function fileName({ version, name }: { version: number; name: string }): string {
  return `${String(version).padStart(6, '0')}_${name}.sql`;
}

function describeDrift(drift: MigrationDrift, dir: string): string {
  const where = path.join(dir, drift.file);
  switch (drift.kind) {
    case 'edited':
      return (
        `${drift.file} was edited after it was applied (SHA-256 recorded ${drift.recorded}, file now ${drift.actual}). ` +
        `An applied migration must never change: restore ${where} as it was (git log -p -- sql/${drift.file}) and put the change in a new migration.`
      );
    case 'missing':
      if (drift.newerThanRelease) {
        return (
          `${drift.file} was applied to this database but is not in ${dir}: a newer Argus release has migrated it. ` +
          `Run that release (or newer); an older one cannot know the schema it expects.`
        );
      }
      return (
        `${drift.file} was applied to this database but is not in ${dir}` +
        (drift.replacedBy ? ` (${drift.replacedBy} has its number)` : '') +
        `. Restore it from git history; if it was removed on purpose, add it to RETIRED_MIGRATIONS in server/db/migrate.ts with the reason.`
      );
  }
}
