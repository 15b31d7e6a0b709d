/**
 * `npm run bench:admin-lists`: the admin console's user and key lists at scale, on loopback.
 *
 * Fills a throwaway database with USERS users (default 100,000) and one security key each,
 * then times GET /api/admin/users and GET /api/admin/keys as an admin would call them: the
 * first page, a deep page (a keyset cursor 90 % of the way in) and filtered searches.
 * Each scenario runs TRIALS times (default 200) and prints p50/p99 of the HTTP round trip.
 * Then it drops the indexes migration 000005 added and runs again, to show what they buy.
 */
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import { startArgus, type Running } from '../../server/runtime.ts';
import { benchDatabase, enrollOverHttp } from './benchSetup.ts';

const USERS = Number(process.env.USERS ?? 100_000);
const TRIALS = Number(process.env.TRIALS ?? 200);

function stats(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return `p50 ${at(0.5).toFixed(2).padStart(7)} ms   p99 ${at(0.99).toFixed(2).padStart(7)} ms`;
}

const cursorOf = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** Bulk rows straight into the tables: usernames bench000000…, every tenth an auditor, a few admins. */
async function fill(node: Running): Promise<void> {
  const started = performance.now();
  const pool = node.deps.pool;
  await pool.query(
    `INSERT INTO app_user (username, display_name, role, status, created_at)
     SELECT 'bench' || lpad(i::text, 6, '0'),
            'Person ' || substr(md5(i::text), 1, 10),
            CASE WHEN i % 1000 = 0 THEN 'admin' WHEN i % 10 = 0 THEN 'auditor' ELSE 'user' END,
            CASE WHEN i % 20 = 0 THEN 'disabled' ELSE 'active' END,
            now() - make_interval(secs => i)
     FROM generate_series(1, $1::int) AS i`,
    [USERS],
  );
  await pool.query(
    `INSERT INTO security_key (user_id, credential_id, public_key, sign_count, aaguid, model_name, device_type, backed_up,
       nickname, status, created_at)
     SELECT u.id, sha256(convert_to(u.username, 'UTF8')), '\\x00'::bytea, 0, '00000000-0000-0000-0000-000000000000',
            'Bench key', 'singleDevice', false, 'Key of ' || u.username,
            CASE WHEN right(u.username, 3) = '777' THEN 'suspended' WHEN right(u.username, 1) = '3' THEN 'deactivated' ELSE 'active' END,
            u.created_at
     FROM app_user u WHERE u.username LIKE 'bench%'`,
  );
  // What autovacuum does soon after a bulk load: planner statistics, and the GIN indexes'
  // pending lists merged and their page counts recorded (without which the planner
  // overestimates a trigram scan and reads the whole table instead).
  await pool.query('VACUUM ANALYZE app_user');
  await pool.query('VACUUM ANALYZE security_key');
  console.log(`filled ${USERS} users and ${USERS} keys in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function scenarios(node: Running): Promise<Array<[string, string]>> {
  const deepUser = `bench${String(Math.floor(USERS * 0.9)).padStart(6, '0')}`;
  const { rows } = await node.deps.pool.query<{ cursor: string; id: string }>(
    `SELECT to_char(k.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor, k.id
     FROM security_key k ORDER BY k.created_at, k.id OFFSET $1::int LIMIT 1`,
    [Math.floor(USERS * 0.9)],
  );
  const deepKey = rows[0]!;
  const owner = `bench${String(Math.floor(USERS / 2)).padStart(6, '0')}`;
  return [
    ['users: first page', '/api/admin/users?limit=50'],
    ['users: deep page (90 %)', `/api/admin/users?limit=50&after=${cursorOf(deepUser)}`],
    ['users: search "04242" (few)', '/api/admin/users?limit=50&q=04242'],
    ['users: search display name', '/api/admin/users?limit=50&q=person%20abc'],
    ['users: search "bench0" (many)', '/api/admin/users?limit=50&q=bench0'],
    ['users: admins, disabled', '/api/admin/users?limit=50&role=admin&status=disabled'],
    ['keys: first page', '/api/admin/keys?limit=50'],
    ['keys: deep page (90 %)', `/api/admin/keys?limit=50&after=${Buffer.from(`${deepKey.cursor}|${deepKey.id}`).toString('base64url')}`],
    ['keys: suspended', '/api/admin/keys?limit=50&status=suspended'],
    ['keys: one owner by name', `/api/admin/keys?limit=50&owner=${owner}`],
  ];
}

async function measure(node: Running, cookie: string, label: string): Promise<void> {
  console.log(`\n${label}`);
  for (const [name, path] of await scenarios(node)) {
    const samples: number[] = [];
    let count = -1;
    for (let i = 0; i < TRIALS; i += 1) {
      const started = performance.now();
      const response = await fetch(node.url + path, { headers: { cookie } });
      const body = (await response.json()) as { users?: unknown[]; keys?: unknown[] };
      samples.push(performance.now() - started);
      if (response.status !== 200) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
      count = (body.users ?? body.keys)!.length;
    }
    console.log(`  ${name.padEnd(32)} ${stats(samples)}   (${count} rows)`);
  }
}

const db = await benchDatabase();
const config = loadConfig(db.nodeEnv());
const node = await startArgus(config, createLogger('silent'), { serveClient: false });
try {
  const admin = await enrollOverHttp({ baseUrl: node.url, pool: node.deps.pool, config }, 'bench-admin');
  await node.deps.pool.query("UPDATE app_user SET role = 'admin' WHERE id = $1", [admin.userId]);
  await fill(node);
  await measure(node, admin.cookie, `with migration 000005's indexes (${TRIALS} requests each):`);
  await node.deps.pool.query(
    `DROP INDEX app_user_username_trgm, app_user_display_name_trgm, app_user_role_username, app_user_status_username,
       security_key_created`,
  );
  await measure(node, admin.cookie, 'without them, for comparison:');
} finally {
  await node.close();
  await db.drop();
}
