import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { query, withClient, type Pool } from './pool.ts';
import type { Logger } from '../log.ts';

export const SQL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../sql');

/** Any constant works; it only has to be the same for every Argus process. */
const MIGRATION_LOCK_KEY = 0x4152_4755; // "ARGU"

const MIGRATION_FILE = /^(\d{6})_([a-z0-9_]+)\.sql$/;

export interface Migration {
  version: number;
  name: string;
  file: string;
}

export async function listMigrations(dir = SQL_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  return files.map((file) => {
    const match = MIGRATION_FILE.exec(file);
    if (!match) throw new Error(`Migration file name ${file} does not match NNNNNN_name.sql`);
    return { version: Number(match[1]), name: match[2]!, file: path.join(dir, file) };
  });
}

/**
 * Applies pending migrations, each in its own transaction. A session-level advisory lock
 * makes two processes starting at once take turns; the second finds nothing to do.
 */
export async function migrate(pool: Pool, log: Logger, dir = SQL_DIR): Promise<number[]> {
  const migrations = await listMigrations(dir);
  return withClient(pool, async (client) => {
    await query(client, 'migration_lock', 'SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    try {
      await query(
        client,
        'migration_table',
        `CREATE TABLE IF NOT EXISTS schema_migration (
           version integer PRIMARY KEY,
           name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const { rows } = await query<{ version: number }>(client, 'migration_applied', 'SELECT version FROM schema_migration');
      const applied = new Set(rows.map((r) => r.version));
      const done: number[] = [];
      for (const migration of migrations) {
        if (applied.has(migration.version)) continue;
        const sql = await readFile(migration.file, 'utf8');
        await client.query('BEGIN');
        try {
          await client.query(sql);
          await query(client, 'migration_record', 'INSERT INTO schema_migration (version, name) VALUES ($1::int, $2::text)', [
            migration.version,
            migration.name,
          ]);
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
