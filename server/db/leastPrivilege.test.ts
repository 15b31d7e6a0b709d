import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm, stat, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { recordAuditEvent, SYSTEM_CONTEXT } from '../audit/record.ts';
import { verifyAuditChain } from '../audit/verify.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { checkServerRole } from '../infra/database.ts';
import { ensureEmbeddedAppRole } from '../infra/embeddedPostgres.ts';
import { createLogger, type Logger } from '../log.ts';
import { createTestDatabase, startTestNode, TEST_APP_ROLE } from '../test/harness.ts';
import { clearRedisPrefix } from '../test/env.ts';
import { useTestDatabase } from '../test/testDatabase.ts';
import { getAuditChainHead, getLatestCheckpoint, insertCheckpoint } from './audit.ts';
import { checkMigrations, listMigrations, migrate, MigrationsPendingError, SQL_DIR } from './migrate.ts';
import { createPool, pgErrorCode, PG_AUDIT_CHECKPOINT_UNKNOWN_EVENT, PG_INSUFFICIENT_PRIVILEGE, query, type Pool } from './pool.ts';
import { ensureAppLoginRole, readDatabasePrivileges } from './privileges.ts';

const db = useTestDatabase();

/** The input parameters of the function(s) named `name`, one row per overload. */
async function inputsOf(name: string): Promise<Array<{ inputs: string[] }>> {
  const { rows } = await query<{ inputs: string[] }>(
    db.pool,
    'function_inputs',
    `SELECT array(SELECT arg FROM unnest(p.proargnames, p.proargmodes::text[]) AS a(arg, mode) WHERE mode = 'i') AS inputs
       FROM pg_proc p WHERE p.proname = $1::text`,
    [name],
  );
  return rows;
}
const log = createLogger('silent');

interface TablePrivileges {
  select: boolean;
  insert: boolean;
  update: boolean;
  delete: boolean;
}

const READ_ONLY: TablePrivileges = { select: true, insert: false, update: false, delete: false };
const READ_WRITE: TablePrivileges = { select: true, insert: true, update: true, delete: true };

/**
 * The tables argus_app may not fully write, each with what it may do. Every other table in the
 * schema must be readable and writable by it (READ_WRITE), so a migration that adds a table the
 * server writes and forgets its GRANT fails here, not in production; and a table is made
 * narrower on purpose only by listing it here.
 */
const NARROWER_GRANTS: Record<string, TablePrivileges> = {
  // Appended only through audit_append / audit_checkpoint_append (sql/000015).
  audit_event: READ_ONLY,
  audit_checkpoint: READ_ONLY,
  // Written by migrations, which run as the owner; the server only checks it.
  schema_migration: READ_ONLY,
  // Raised and acknowledged by the server, never deleted (sql/000016).
  audit_chain_alarm: { select: true, insert: true, update: true, delete: false },
  // Written only by audit_append_many, as the owner (sql/000024): a forged receipt could make a retried batch vanish.
  audit_append_receipt: { select: false, insert: false, update: false, delete: false },
};

/** audit_append's parameter types (sql/000011), for has_function_privilege. */
const AUDIT_APPEND = 'audit_append(timestamptz, uuid, text, text, text, text, text, text, text, text, text, jsonb, bytea, bytea)';
const AUDIT_CHECKPOINT_APPEND = 'audit_checkpoint_append(bigint, text, timestamptz, text, text)';
/** audit_append_many's parameter types (sql/000024). */
const AUDIT_APPEND_MANY = 'audit_append_many(uuid, timestamptz[], uuid[], text[], text[], text[], text[], text[], text[], text[], text[], text[], jsonb[], bytea[], bytea[])';

/** The error a statement failed with, as SQLSTATE and message; fails the test if it succeeded. */
async function refusal(pending: Promise<unknown>): Promise<{ code: string | undefined; message: string }> {
  const error = await pending.then(
    () => null,
    (rejected: unknown) => rejected,
  );
  expect(error, 'the statement should have been refused').not.toBeNull();
  return { code: pgErrorCode(error), message: (error as Error).message };
}

async function count(table: 'audit_event' | 'audit_checkpoint'): Promise<number> {
  const { rows } = await query<{ n: number }>(db.pool, 't', `SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

const appendEvent = (n: number) => recordAuditEvent(db.pool, SYSTEM_CONTEXT, { action: 'auth.signout', outcome: 'success', details: { n } });

beforeAll(async () => {
  for (let n = 0; n < 3; n += 1) await appendEvent(n);
  const head = (await getAuditChainHead(db.pool))!;
  await insertCheckpoint(db.pool, { seq: head.seq, hash: head.hash, time: new Date().toISOString(), keyFingerprint: 'f'.repeat(64), signature: 'c2lnbmF0dXJl' });
});

describe('the server role (a member of argus_app) and the audit tables', () => {
  it('connects as the test application role, not the owner', async () => {
    const { rows } = await query<{ role: string }>(db.pool, 't', 'SELECT current_user AS role');
    expect(rows[0]!.role).toBe(TEST_APP_ROLE);
    expect(await readDatabasePrivileges(db.pool)).toEqual({
      role: TEST_APP_ROLE,
      writesAuditTables: false,
      ownsAuditTables: false,
      createsInSchema: false,
      superuser: false,
    });
  });

  it.each([
    ['INSERT into audit_event', `INSERT INTO audit_event (seq, time, action, outcome, severity, prev_hash, hash) VALUES (1000, now(), 'user.enabled', 'success', 'info', repeat('0', 64), repeat('a', 64))`, 'audit_event'],
    ['UPDATE audit_event', `UPDATE audit_event SET outcome = 'failure' WHERE seq = 2`, 'audit_event'],
    ['DELETE from audit_event', 'DELETE FROM audit_event WHERE seq = 2', 'audit_event'],
    ['TRUNCATE audit_event', 'TRUNCATE audit_event', 'audit_event'],
    ['INSERT into audit_checkpoint', `INSERT INTO audit_checkpoint (seq, hash, time, key_fingerprint, signature) VALUES (1, repeat('a', 64), now(), repeat('f', 64), 'x')`, 'audit_checkpoint'],
    ['UPDATE audit_checkpoint', `UPDATE audit_checkpoint SET hash = repeat('a', 64)`, 'audit_checkpoint'],
    ['DELETE from audit_checkpoint', 'DELETE FROM audit_checkpoint', 'audit_checkpoint'],
    ['TRUNCATE audit_checkpoint', 'TRUNCATE audit_checkpoint', 'audit_checkpoint'],
  ] as const)('refuses %s with 42501 insufficient_privilege, before any trigger runs', async (_name, sql, table) => {
    const before = await count(table);
    const { code, message } = await refusal(db.pool.query(sql));
    expect(code).toBe(PG_INSUFFICIENT_PRIVILEGE);
    // The privilege check, not the append-only trigger (which says "append-only").
    expect(message).toBe(`permission denied for table ${table}`);
    expect(await count(table)).toBe(before);
  });

  it.each([
    ['DISABLE TRIGGER on audit_event', 'ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete', /^must be owner of table audit_event$/],
    ['DISABLE TRIGGER ALL on audit_event', 'ALTER TABLE audit_event DISABLE TRIGGER ALL', /^must be owner of table audit_event$/],
    ['DISABLE TRIGGER on audit_checkpoint', 'ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_no_truncate', /^must be owner of table audit_checkpoint$/],
    ['ALTER TABLE audit_event ADD COLUMN', 'ALTER TABLE audit_event ADD COLUMN note text', /^must be owner of table audit_event$/],
    ['ALTER TABLE audit_event DROP CONSTRAINT', 'ALTER TABLE audit_event DROP CONSTRAINT audit_event_hash_key', /^must be owner of table audit_event$/],
    ['ALTER TABLE audit_checkpoint OWNER', `ALTER TABLE audit_checkpoint OWNER TO ${TEST_APP_ROLE}`, /^must be owner of table audit_checkpoint$/],
    ['DROP TRIGGER', 'DROP TRIGGER audit_event_no_update_delete ON audit_event', /^must be owner of (table|relation) audit_event$/],
    ['DROP TABLE audit_event', 'DROP TABLE audit_event', /^must be owner of table audit_event$/],
    ['DROP TABLE audit_checkpoint', 'DROP TABLE audit_checkpoint', /^must be owner of table audit_checkpoint$/],
    ['making audit_append run as its caller', `ALTER FUNCTION ${AUDIT_APPEND} SECURITY INVOKER`, /^must be owner of function audit_append$/],
    ['replacing the append-only trigger function', `CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`, /^permission denied for schema public$/],
    // What `tamper()` in the tests does as a superuser: switch every trigger off for the session.
    ['session_replication_role = replica', `SET session_replication_role = 'replica'`, /^permission denied to set parameter "session_replication_role"$/],
    // A better-matching function in public would capture the SECURITY DEFINER functions' calls (CVE-2018-1058).
    ['planting a function in public', `CREATE FUNCTION public.convert_to(text, text) RETURNS bytea LANGUAGE sql AS $$ SELECT ''::bytea $$`, /^permission denied for schema public$/],
  ] as const)('refuses %s (42501)', async (_name, sql, message) => {
    const refused = await refusal(db.pool.query(sql));
    expect(refused.code).toBe(PG_INSUFFICIENT_PRIVILEGE);
    expect(refused.message).toMatch(message);
    // Triggers still in place and on.
    const { rows } = await query<{ enabled: string }>(db.ownerPool, 't', `SELECT tgenabled AS enabled FROM pg_trigger WHERE tgname = 'audit_event_no_update_delete'`);
    expect(rows).toEqual([{ enabled: 'O' }]);
  });

  it('cannot SET ROLE or SET SESSION AUTHORIZATION to the owner of the audit tables', async () => {
    const { rows } = await query<{ owner: string }>(db.ownerPool, 't', `SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = 'audit_event'::regclass`);
    const owner = rows[0]!.owner;
    expect(owner).not.toBe(TEST_APP_ROLE);
    const setRole = await refusal(db.pool.query(`SET ROLE ${owner}`));
    expect(setRole).toEqual({ code: PG_INSUFFICIENT_PRIVILEGE, message: `permission denied to set role "${owner}"` });
    const setSession = await refusal(db.pool.query(`SET SESSION AUTHORIZATION ${owner}`));
    expect(setSession.code).toBe(PG_INSUFFICIENT_PRIVILEGE);
  });
});

describe('appending through the SECURITY DEFINER functions', () => {
  it('audit_append works for the server role and computes seq and prev_hash itself', async () => {
    const head = (await getAuditChainHead(db.pool))!;
    const first = await appendEvent(100);
    const second = await appendEvent(101);
    expect(first).toMatchObject({ seq: head.seq + 1, prevHash: head.hash });
    expect(second).toMatchObject({ seq: head.seq + 2, prevHash: first.hash });
    expect(await verifyAuditChain(db.pool)).toMatchObject({ intact: true, headSeq: head.seq + 2 });
  });

  it('takes no seq, prev_hash or hash from its caller', async () => {
    const rows = await inputsOf('audit_append');
    // The event, and its canonical JSON around the seq (which the function fills in): nothing of the chain.
    expect(rows).toEqual([
      {
        inputs: [
          'p_time',
          'p_actor_id',
          'p_actor_username',
          'p_action',
          'p_target_type',
          'p_target_id',
          'p_outcome',
          'p_severity',
          'p_ip',
          'p_user_agent',
          'p_model',
          'p_details',
          'p_json_before_seq',
          'p_json_after_seq',
        ],
      },
    ]);
    // Passing them anyway matches no function.
    const extra = await refusal(
      db.pool.query(
        `SELECT audit_append(now(), NULL, NULL, 'user.enabled', NULL, NULL, 'success', 'info', NULL, NULL, NULL, '{}'::jsonb, ''::bytea, ''::bytea, 1::bigint, repeat('0', 64))`,
      ),
    );
    expect(extra.code).toBe('42883'); // undefined_function
  });

  it('audit_append_many (group commit) takes no seq, prev_hash or hash from its caller either', async () => {
    const rows = await inputsOf('audit_append_many');
    // A batch id (for a retry after a lost connection), then the same inputs as audit_append, one array each.
    expect(rows).toEqual([
      {
        inputs: [
          'p_batch_id',
          'p_time',
          'p_actor_id',
          'p_actor_username',
          'p_action',
          'p_target_type',
          'p_target_id',
          'p_outcome',
          'p_severity',
          'p_ip',
          'p_user_agent',
          'p_model',
          'p_details',
          'p_json_before_seq',
          'p_json_after_seq',
        ],
      },
    ]);
  });

  it('refuses the server role any access to the batch receipts, so none can be forged to make a retried batch vanish', async () => {
    for (const sql of [
      'SELECT * FROM audit_append_receipt',
      `INSERT INTO audit_append_receipt (batch_id, first_seq, last_seq) VALUES (gen_random_uuid(), 1, 1)`,
      'DELETE FROM audit_append_receipt',
    ]) {
      const refused = await refusal(db.pool.query(sql));
      expect(refused, sql).toEqual({ code: PG_INSUFFICIENT_PRIVILEGE, message: 'permission denied for table audit_append_receipt' });
    }
  });

  it('runs the append functions as their owner with a pinned search_path, executable by argus_app only', async () => {
    const { rows } = await query<{ name: string; definer: boolean; config: string[] | null; public_exec: boolean; app_exec: boolean }>(
      db.pool,
      't',
      `SELECT p.proname AS name, p.prosecdef AS definer, p.proconfig AS config,
              has_function_privilege('public', p.oid, 'EXECUTE') AS public_exec,
              has_function_privilege('argus_app', p.oid, 'EXECUTE') AS app_exec
         FROM pg_proc p WHERE p.oid IN ($1::regprocedure, $2::regprocedure, $3::regprocedure) ORDER BY p.proname`,
      [AUDIT_APPEND, AUDIT_CHECKPOINT_APPEND, AUDIT_APPEND_MANY],
    );
    const expected = { definer: true, config: ['search_path=pg_catalog, public, pg_temp'], public_exec: false, app_exec: true };
    expect(rows).toEqual([
      { name: 'audit_append', ...expected },
      { name: 'audit_append_many', ...expected },
      { name: 'audit_checkpoint_append', ...expected },
    ]);
  });

  it('audit_checkpoint_append stores a checkpoint of an event the chain holds, with its hash', async () => {
    const head = (await getAuditChainHead(db.pool))!;
    const checkpoint = { seq: head.seq, hash: head.hash, time: new Date().toISOString(), keyFingerprint: 'e'.repeat(64), signature: 'c2lnbmVk' };
    await insertCheckpoint(db.pool, checkpoint);
    expect(await getLatestCheckpoint(db.pool)).toEqual(checkpoint);
  });

  it('audit_checkpoint_append refuses a made-up hash, a seq the chain does not have, and another event’s hash (ZA001)', async () => {
    const head = (await getAuditChainHead(db.pool))!;
    const { rows } = await query<{ hash: string }>(db.pool, 't', 'SELECT hash FROM audit_event WHERE seq = 1');
    const time = new Date().toISOString();
    const keyFingerprint = 'd'.repeat(64);
    const before = await count('audit_checkpoint');
    const attempts = [
      { seq: head.seq, hash: 'a'.repeat(64) },
      { seq: head.seq + 1, hash: head.hash },
      { seq: 987_654, hash: 'b'.repeat(64) },
      { seq: head.seq, hash: rows[0]!.hash },
    ];
    for (const attempt of attempts) {
      const refused = await refusal(insertCheckpoint(db.pool, { ...attempt, time, keyFingerprint, signature: 'Zm9yZ2Vk' }));
      expect(refused, JSON.stringify(attempt)).toEqual({
        code: PG_AUDIT_CHECKPOINT_UNKNOWN_EVENT,
        message: `audit_checkpoint_append: the chain has no event #${attempt.seq} with that hash`,
      });
    }
    expect(await count('audit_checkpoint')).toBe(before);
  });
});

describe('grants: every table the server writes, and only the audit tables read-only', () => {
  it('lets argus_app read and write every table but the listed ones, which get exactly their listed privileges (never TRUNCATE)', async () => {
    const { rows } = await query<{ name: string; s: boolean; i: boolean; u: boolean; d: boolean; t: boolean }>(
      db.ownerPool,
      't',
      `SELECT c.relname AS name,
              has_table_privilege('argus_app', c.oid, 'SELECT') AS s, has_table_privilege('argus_app', c.oid, 'INSERT') AS i,
              has_table_privilege('argus_app', c.oid, 'UPDATE') AS u, has_table_privilege('argus_app', c.oid, 'DELETE') AS d,
              has_table_privilege('argus_app', c.oid, 'TRUNCATE') AS t
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
    );
    const names = rows.map((row) => row.name);
    // The list names real tables (a renamed one must be renamed here too).
    for (const table of Object.keys(NARROWER_GRANTS)) expect(names).toContain(table);
    for (const row of rows) {
      const listed = NARROWER_GRANTS[row.name];
      expect(
        { select: row.s, insert: row.i, update: row.u, delete: row.d, truncate: row.t },
        listed
          ? `${row.name} must keep exactly the privileges listed in NARROWER_GRANTS`
          : `${row.name}: the migration that created it must end with GRANT SELECT, INSERT, UPDATE, DELETE ON ${row.name} TO argus_app (sql/README.md), or list it in NARROWER_GRANTS with the reason`,
      ).toEqual({ ...(listed ?? READ_WRITE), truncate: false });
    }
  });

  it('lets argus_app use the sequences of the tables it inserts into, and no other', async () => {
    const { rows } = await query<{ sequence: string; owner_table: string | null; usable: boolean }>(
      db.ownerPool,
      't',
      `SELECT s.relname AS sequence, t.relname AS owner_table, has_sequence_privilege('argus_app', s.oid, 'USAGE') AS usable
         FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace
         LEFT JOIN pg_depend dep ON dep.objid = s.oid AND dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')
         LEFT JOIN pg_class t ON t.oid = dep.refobjid
        WHERE n.nspname = 'public' AND s.relkind = 'S'`,
    );
    expect(rows.map((row) => row.sequence)).toContain('audit_checkpoint_id_seq');
    for (const row of rows) {
      const inserts = row.owner_table !== null && (NARROWER_GRANTS[row.owner_table] ?? READ_WRITE).insert;
      expect(row.usable, `sequence ${row.sequence} of ${row.owner_table ?? 'no table'}: GRANT USAGE ON SEQUENCE … TO argus_app`).toBe(inserts);
    }
  });

  it('keeps argus_app a plain group role: no login, no superuser, no CREATEROLE or CREATEDB, no CREATE in public', async () => {
    const { rows } = await query(
      db.ownerPool,
      't',
      `SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, has_schema_privilege('argus_app', 'public', 'CREATE') AS creates
         FROM pg_roles WHERE rolname = 'argus_app'`,
    );
    expect(rows).toEqual([{ rolcanlogin: false, rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false, creates: false }]);
  });
});

describe('migrations and start-up without the owner', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'argus-sql-'));
    await cp(SQL_DIR, dir, { recursive: true });
    await writeFile(path.join(dir, '999999_probe.sql'), 'CREATE TABLE migration_probe ();\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('checkMigrations finds an up-to-date database fine, as the server role', async () => {
    await expect(checkMigrations(db.pool)).resolves.toBeUndefined();
  });

  it('checkMigrations refuses pending migrations with a message naming npm run migrate, and applies nothing', async () => {
    const refused = await checkMigrations(db.pool, { dir }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(MigrationsPendingError);
    expect((refused as MigrationsPendingError).pending.map((m) => m.version)).toEqual([999_999]);
    expect((refused as Error).message).toMatch(/1 migration is pending \(999999_probe\.sql\).*npm run migrate.*DATABASE_OWNER_URL/s);
    const { rows } = await query<{ probe: string | null }>(db.pool, 't', `SELECT to_regclass('migration_probe')::text AS probe`);
    expect(rows[0]!.probe).toBeNull();
  });

  it('migrate() as the server role refuses to apply anything, saying it is not the owner', async () => {
    await expect(migrate(db.pool, log, { dir })).rejects.toThrow(new RegExp(`the role ${TEST_APP_ROLE} does not own the schema.*npm run migrate`, 's'));
    await expect(migrate(db.pool, log, { dir })).rejects.toBeInstanceOf(MigrationsPendingError);
    // With nothing pending it is a no-op the server role may run.
    await expect(migrate(db.pool, log)).resolves.toEqual([]);
  });

  it('migrate() as the server role on a new, empty database refuses plainly and creates nothing', async () => {
    const database = await createTestDatabase();
    const owner = createPool(database.ownerUrl, log, 1);
    const server = createPool(database.url, log, 1);
    try {
      // An empty database as PostgreSQL 15+ makes it: everyone may use schema public, only its owner create in it.
      await owner.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT USAGE ON SCHEMA public TO PUBLIC');
      const refused = await migrate(server, log).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(MigrationsPendingError);
      expect((refused as MigrationsPendingError).pending).toHaveLength((await listMigrations()).length);
      expect((refused as Error).message).toMatch(new RegExp(`the role ${TEST_APP_ROLE} does not own the schema`));
      const { rows } = await query<{ table: string | null }>(owner, 't', `SELECT to_regclass('schema_migration')::text AS table`);
      expect(rows[0]!.table).toBeNull();
    } finally {
      await server.end();
      await owner.end();
      await database.drop();
    }
  });

  it('a node without DATABASE_OWNER_URL refuses to start while a migration is pending, and does not try it', async () => {
    const database = await createTestDatabase();
    const owner = createPool(database.ownerUrl, log, 1);
    try {
      // The newest migration's record gone: as if this release brought it and nobody ran `npm run migrate`.
      const { rows } = await query<{ version: number; name: string }>(
        owner,
        't',
        'DELETE FROM schema_migration WHERE version = (SELECT max(version) FROM schema_migration) RETURNING version, name',
      );
      const { version, name } = rows[0]!;
      const refused = await startTestNode({}, { databaseUrl: database.url, redisPrefix: `argus-test:${randomBytes(6).toString('hex')}:` }).then(
        async (node) => {
          await node.destroy();
          return null;
        },
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(MigrationsPendingError);
      const file = `${String(version).padStart(6, '0')}_${name}.sql`;
      expect((refused as Error).message).toMatch(
        new RegExp(`^Refusing to start: 1 migration is pending \\(${file.replaceAll('.', '\\.')}\\) and DATABASE_OWNER_URL is not set.*Run \`npm run migrate\``, 's'),
      );
      const after = await query<{ n: number }>(owner, 't', 'SELECT count(*)::int AS n FROM schema_migration WHERE version = $1::int', [version]);
      expect(after.rows[0]!.n).toBe(0);
    } finally {
      await owner.end();
      await database.drop();
    }
  });

  it('a node given DATABASE_OWNER_URL migrates a fresh database as the owner, then serves as the server role', async () => {
    const database = await createTestDatabase();
    const owner = createPool(database.ownerUrl, log, 1);
    const redisPrefix = `argus-test:${randomBytes(6).toString('hex')}:`;
    try {
      await owner.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
      const node = await startTestNode({ DATABASE_OWNER_URL: database.ownerUrl }, { databaseUrl: database.url, databaseOwnerUrl: database.ownerUrl, redisPrefix });
      try {
        const { rows } = await query<{ role: string; migrations: number }>(
          node.deps.pool,
          't',
          'SELECT current_user AS role, (SELECT count(*)::int FROM schema_migration) AS migrations',
        );
        expect(rows[0]).toEqual({ role: TEST_APP_ROLE, migrations: (await listMigrations()).length });
        const ready = await fetch(`${node.url}/readyz`);
        expect(ready.status).toBe(200);
        expect(await ready.json()).toMatchObject({ details: { database: { leastPrivilege: true } } });
      } finally {
        await node.destroy();
      }
    } finally {
      await owner.end();
      await database.drop();
      await clearRedisPrefix(redisPrefix);
    }
  });

  it('needs DATABASE_URL for DATABASE_OWNER_URL (the embedded database has its own owner)', () => {
    expect(() => loadConfig({ SESSION_SECRET: 'x'.repeat(32), ARGUS_DATA_DIR: '/tmp/argus-config-test', DATABASE_OWNER_URL: 'postgres://owner@db/argus' })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig({ SESSION_SECRET: 'x'.repeat(32), ARGUS_DATA_DIR: '/tmp/argus-config-test', DATABASE_OWNER_URL: 'postgres://owner@db/argus' })).toThrow(
      /DATABASE_OWNER_URL: needs DATABASE_URL too/,
    );
  });
});

describe('/readyz and the start-up check report whether least privilege is in force', () => {
  it('reports leastPrivilege true for a node on the server role', async () => {
    const node = await startTestNode();
    try {
      const ready = await fetch(`${node.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', postgres: 'ok', details: { database: { leastPrivilege: true } } });
    } finally {
      await node.destroy();
    }
  });

  it('reports leastPrivilege false, still ready, for a node that connects as the owner (a single-role deployment)', async () => {
    const database = await createTestDatabase();
    const redisPrefix = `argus-test:${randomBytes(6).toString('hex')}:`;
    try {
      const node = await startTestNode({}, { databaseUrl: database.ownerUrl, redisPrefix });
      try {
        const ready = await fetch(`${node.url}/readyz`);
        expect(ready.status).toBe(200);
        expect(await ready.json()).toMatchObject({ status: 'ready', details: { database: { leastPrivilege: false } } });
      } finally {
        await node.destroy();
      }
    } finally {
      await database.drop();
      await clearRedisPrefix(redisPrefix);
    }
  });

  it('warns loudly at start when the role can rewrite the audit tables, and says nothing otherwise', async () => {
    const warn = vi.fn();
    const quietLog = { warn } as unknown as Logger;
    await checkServerRole(db.pool, quietLog);
    expect(warn).not.toHaveBeenCalled();
    expect(await checkServerRole(db.ownerPool, quietLog)).toMatchObject({ superuser: true, writesAuditTables: true, ownsAuditTables: true });
    expect(warn).toHaveBeenCalledOnce();
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ excess: expect.arrayContaining(['is a superuser', 'may INSERT, UPDATE, DELETE or TRUNCATE audit_event or audit_checkpoint']) }),
      expect.stringMatching(/^LEAST PRIVILEGE NOT IN FORCE: .*DATABASE_OWNER_URL/),
    );
  });
});

describe('the login role of the embedded database', () => {
  const roles: string[] = [];
  const dirs: string[] = [];
  const newRole = () => {
    const role = `argus_server_t_${randomBytes(4).toString('hex')}`;
    roles.push(role);
    return role;
  };
  afterAll(async () => {
    // Roles belong to the whole (shared) test cluster: leave none behind.
    for (const role of roles) await db.ownerPool.query(`DROP ROLE IF EXISTS ${role}`);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function authid(role: string) {
    const { rows } = await query<{ login: boolean; superuser: boolean; verifier: string | null; member: boolean }>(
      db.ownerPool,
      't',
      `SELECT rolcanlogin AS login, rolsuper AS superuser, rolpassword AS verifier, pg_has_role(oid, 'argus_app', 'MEMBER') AS member
         FROM pg_authid WHERE rolname = $1::text`,
      [role],
    );
    return rows[0];
  }

  it('is made on first start as a LOGIN member of argus_app, its password kept 0600 in the data directory, and kept on later starts', async () => {
    const role = newRole();
    const dataDir = await mkdtemp(path.join(tmpdir(), 'argus-data-'));
    dirs.push(dataDir);
    const url = await ensureEmbeddedAppRole({ ownerUrl: db.database.ownerUrl, dataDir, log, role });

    const file = path.join(dataDir, 'pg-server-password');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const password = (await readFile(file, 'utf8')).trim();
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(new URL(url)).toMatchObject({ username: role, password });
    const created = (await authid(role))!;
    expect(created).toMatchObject({ login: true, superuser: false, member: true });
    expect(created.verifier).toMatch(/^SCRAM-SHA-256\$/);
    const server = createPool(url, log, 1);
    try {
      expect(await readDatabasePrivileges(server)).toEqual({ role, writesAuditTables: false, ownsAuditTables: false, createsInSchema: false, superuser: false });
    } finally {
      await server.end();
    }

    // The next start of the same data directory: same role, same password.
    expect(await ensureEmbeddedAppRole({ ownerUrl: db.database.ownerUrl, dataDir, log, role })).toBe(url);
    expect((await authid(role))!.verifier).toBe(created.verifier);
    // The file lost: a new password, given to the role.
    await rm(file);
    const again = await ensureEmbeddedAppRole({ ownerUrl: db.database.ownerUrl, dataDir, log, role });
    expect(new URL(again).password).not.toBe(password);
    expect((await authid(role))!.verifier).not.toBe(created.verifier);
  });

  it('is created once when several processes start together', async () => {
    const role = newRole();
    const pools = [createPool(db.database.ownerUrl, log, 1), createPool(db.database.ownerUrl, log, 1), createPool(db.database.ownerUrl, log, 1)];
    try {
      const results = await Promise.all(pools.map((pool: Pool) => ensureAppLoginRole(pool, { role })));
      expect(results.filter((result) => result.created)).toHaveLength(1);
      expect(await authid(role)).toMatchObject({ login: true, member: true });
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });
});
