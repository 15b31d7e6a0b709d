import { createHash } from 'node:crypto';
import { appendFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../log.ts';
import { createTestDatabase } from '../test/harness.ts';
import { MigrationDriftError, SQL_DIR, migrate } from './migrate.ts';
import { createPool, type Pool } from './pool.ts';

const log = createLogger('silent');

// Each test gets a database cloned from the run's migrated template (every file in sql/
// applied, checksums recorded) and its own copy of sql/ to edit.
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: Pool;
let dir: string;
beforeEach(async () => {
  database = await createTestDatabase();
  // Migrations run as the owner (sql/000015: the server's role cannot apply them).
  pool = createPool(database.ownerUrl, log, 2);
  dir = await mkdtemp(path.join(tmpdir(), 'argus-sql-'));
  await cp(SQL_DIR, dir, { recursive: true });
});
afterEach(async () => {
  await pool.end();
  await database.drop();
  await rm(dir, { recursive: true, force: true });
});

/** What `sha256sum` prints for each migration file in sql/, computed apart from migrate.ts. */
async function fileChecksums(): Promise<Map<number, string>> {
  const files = (await readdir(SQL_DIR)).filter((file) => file.endsWith('.sql'));
  const checksums = new Map<number, string>();
  for (const file of files) {
    checksums.set(Number(file.slice(0, 6)), createHash('sha256').update(await readFile(path.join(SQL_DIR, file))).digest('hex'));
  }
  return checksums;
}

async function recordedChecksums(): Promise<Map<number, string | null>> {
  const { rows } = await pool.query<{ version: number; checksum: string | null }>('SELECT version, checksum FROM schema_migration');
  return new Map(rows.map((row) => [row.version, row.checksum]));
}

/** The error migrate() refused with; fails the test if it did not refuse. */
async function refusal(pending: Promise<unknown>): Promise<MigrationDriftError> {
  const error = await pending.then(
    () => null,
    (rejected: unknown) => rejected,
  );
  expect(error).toBeInstanceOf(MigrationDriftError);
  return error as MigrationDriftError;
}

describe('migrate', () => {
  it('migrates a fresh database, recording each file’s SHA-256, and finds nothing to do the second time', async () => {
    await pool.query('DROP SCHEMA public CASCADE');
    await pool.query('CREATE SCHEMA public');
    const expected = await fileChecksums();

    const applied = await migrate(pool, log);

    expect(applied).toEqual([...expected.keys()].sort((a, b) => a - b));
    expect(await recordedChecksums()).toEqual(expected);
    expect(await migrate(pool, log)).toEqual([]);
  });

  it('refuses an applied migration that was edited, naming it, before applying anything', async () => {
    await appendFile(path.join(dir, '000003_models.sql'), '\n-- a harmless-looking afterthought\n');
    await writeFile(path.join(dir, '999999_probe.sql'), 'CREATE TABLE migration_probe ();\n');

    const error = await refusal(migrate(pool, log, { dir }));

    expect(error.message).toContain('000003_models.sql was edited after it was applied');
    expect(error.message).toContain('new migration');
    expect(error.drift).toEqual([expect.objectContaining({ kind: 'edited', file: '000003_models.sql' })]);
    const { rows } = await pool.query<{ probe: string | null }>(`SELECT to_regclass('migration_probe')::text AS probe`);
    expect(rows[0]!.probe).toBeNull();
  });

  it('refuses an applied migration that vanished from sql/, naming it', async () => {
    await rm(path.join(dir, '000005_admin_list_indexes.sql'));

    const error = await refusal(migrate(pool, log, { dir }));

    expect(error.message).toContain('000005_admin_list_indexes.sql was applied to this database but is not in');
    expect(error.message).toContain('RETIRED_MIGRATIONS');
  });

  it('refuses an applied migration whose file was renamed, naming both', async () => {
    await cp(path.join(dir, '000005_admin_list_indexes.sql'), path.join(dir, '000005_list_indexes.sql'));
    await rm(path.join(dir, '000005_admin_list_indexes.sql'));

    const error = await refusal(migrate(pool, log, { dir }));

    expect(error.message).toContain('000005_admin_list_indexes.sql was applied to this database but is not in');
    expect(error.message).toContain('000005_list_indexes.sql has its number');
  });

  it('refuses a database that a newer release has migrated', async () => {
    await pool.query(`INSERT INTO schema_migration (version, name) VALUES (999990, 'from_a_newer_release')`);

    const error = await refusal(migrate(pool, log, { dir }));

    expect(error.message).toContain('999990_from_a_newer_release.sql was applied to this database but is not in');
    expect(error.message).toContain('newer Argus release');
  });

  it('accepts the retired 000006 that databases migrated before its removal still record', async () => {
    // The row as those databases have it: applied before checksums were kept.
    await pool.query(`INSERT INTO schema_migration (version, name) VALUES (6, 'audit_overview_index')`);

    expect(await migrate(pool, log)).toEqual([]);
    expect((await recordedChecksums()).get(6)).toBeNull();
  });

  it('refuses a new migration that reuses a retired number', async () => {
    await writeFile(path.join(dir, '000006_something_new.sql'), 'CREATE TABLE migration_probe ();\n');

    await expect(migrate(pool, log, { dir })).rejects.toThrow(/000006_something_new\.sql reuses the number of retired migration 000006_audit_overview_index\.sql/);
  });

  it('records checksums on a database from before they were kept, and holds them to it afterwards', async () => {
    await pool.query('ALTER TABLE schema_migration DROP COLUMN checksum');

    expect(await migrate(pool, log)).toEqual([]);

    expect(await recordedChecksums()).toEqual(await fileChecksums());
    await appendFile(path.join(dir, '000001_users_enrollment_audit.sql'), '\n-- edited later\n');
    const error = await refusal(migrate(pool, log, { dir }));
    expect(error.message).toContain('000001_users_enrollment_audit.sql was edited after it was applied');
  });
});
