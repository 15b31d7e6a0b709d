import { randomBytes } from 'node:crypto';
import type session from 'express-session';
import { inject } from 'vitest';
import type { AuditEventView } from '../../shared/audit.ts';
import type { ErrorBody } from '../../shared/errors.ts';
import { openSession } from '../auth/sessionStore.ts';
import { loadConfig, type Env } from '../config.ts';
import { RecordMac } from '../crypto/recordMac.ts';
import { searchAuditEvents } from '../db/audit.ts';
import { createAdminClient, createPool, query, type Pool } from '../db/pool.ts';
import { ensureAppLoginRole } from '../db/privileges.ts';
import { createLogger } from '../log.ts';
import { startArgus, type Running } from '../runtime.ts';
import { resealedSession } from './sessionIntegrity.ts';
import { SoftAuthenticator } from './softAuthenticator.ts';
import { ADMIN_DATABASE_URL, TEST_REDIS_URL, clearRedisPrefix, databaseUrl } from './env.ts';

export const TEST_ORIGIN = 'http://argus.test';

/**
 * The login role tests connect as wherever the server would (Argus nodes, `useTestDatabase().pool`):
 * a member of argus_app (sql/000015) and nothing else, so the whole suite runs with least
 * privilege. Trust authentication, like the test cluster's other roles.
 */
export const TEST_APP_ROLE = 'argus_test_app';

/** `url` (a database of the test cluster) as the test application role. */
export function asTestAppRole(url: string): string {
  const app = new URL(url);
  app.username = TEST_APP_ROLE;
  app.password = '';
  return app.toString();
}

/**
 * The owner's URL for a database a test node connects to: the cluster's admin role in place of
 * the test application role; any other URL (a throwaway cluster's superuser) is its own owner.
 */
export function ownerUrlOf(url: string): string {
  const parsed = new URL(url);
  if (decodeURIComponent(parsed.username) !== TEST_APP_ROLE) return url;
  const admin = new URL(ADMIN_DATABASE_URL);
  parsed.username = admin.username;
  parsed.password = admin.password;
  return parsed.toString();
}

let testAppRole: Promise<unknown> | null = null;

/**
 * The role is the cluster's, made on first use by whichever test process gets there first
 * (the others find it, or lose the race harmlessly); argus_app exists once the run's template
 * is migrated.
 */
function ensureTestAppRole(): Promise<unknown> {
  testAppRole ??= (async () => {
    const admin = createPool(ADMIN_DATABASE_URL, createLogger('silent'), 1);
    try {
      await ensureAppLoginRole(admin, { role: TEST_APP_ROLE });
    } finally {
      await admin.end();
    }
  })();
  return testAppRole;
}

export interface TestDatabase {
  name: string;
  /** As the test application role (TEST_APP_ROLE): what the server would connect with. */
  url: string;
  /** As the owner (the cluster's admin role): for tests that tamper with the audit tables, seed them or change the schema. */
  ownerUrl: string;
  drop(): Promise<void>;
}

/** A fresh database cloned from the run's migrated template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `argus_t_${process.ppid}_${randomBytes(5).toString('hex')}`;
  const admin = createAdminClient(ADMIN_DATABASE_URL);
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject('templateDatabase')}`);
  } finally {
    await admin.end();
  }
  await ensureTestAppRole();
  return {
    name,
    url: asTestAppRole(databaseUrl(name)),
    ownerUrl: databaseUrl(name),
    async drop() {
      const cleanup = createAdminClient(ADMIN_DATABASE_URL);
      await cleanup.connect();
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}

/** The KEK test nodes use unless a test sets its own (`test:` + 32 bytes of base64). */
export const TEST_DATA_ENCRYPTION_KEYS = `test:${Buffer.alloc(32, 7).toString('base64')}`;

export interface TestNode extends Running {
  /** What the node connects with: the test application role, unless a test gave it another URL. */
  databaseUrl: string;
  /** The same database as its owner. */
  databaseOwnerUrl: string;
  /**
   * A pool on the node's database as the owner, for tests that must do what the node cannot:
   * tamper with or seed the audit tables, change the schema. Made on first use, ended by destroy().
   */
  ownerPool(): Pool;
  redisPrefix: string;
  client(): TestClient;
  /** A software security key for this node's origin and RP ID. */
  authenticator(options?: ConstructorParameters<typeof SoftAuthenticator>[2]): SoftAuthenticator;
  /** Stops the node, drops its database and clears its Redis keys. */
  destroy(): Promise<void>;
}

/**
 * One real Argus node on a random port, on its own database and Redis prefix. It connects as the
 * test application role and, like a production node without DATABASE_OWNER_URL, only checks
 * that the (template-migrated) database has no pending migrations. Given another URL (a
 * throwaway cluster's fresh database) it migrates with that URL as the owner.
 */
export async function startTestNode(
  env: Env = {},
  shared?: { databaseUrl: string; databaseOwnerUrl?: string; redisPrefix: string; redisUrl?: string },
): Promise<TestNode> {
  const database = shared ? null : await createTestDatabase();
  const redisPrefix = shared?.redisPrefix ?? `argus-test:${randomBytes(6).toString('hex')}:`;
  const dbUrl = shared?.databaseUrl ?? database!.url;
  const dbOwnerUrl = shared?.databaseOwnerUrl ?? database?.ownerUrl ?? ownerUrlOf(dbUrl);
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    ARGUS_ORIGIN: TEST_ORIGIN,
    DATABASE_URL: dbUrl,
    ...(dbUrl === dbOwnerUrl ? { DATABASE_OWNER_URL: dbOwnerUrl } : {}),
    REDIS_URL: shared?.redisUrl ?? TEST_REDIS_URL,
    REDIS_KEY_PREFIX: redisPrefix,
    SESSION_SECRET: 'test-secret-test-secret-test-secret-0123',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // The tests' model servers (FakeOpenAI) listen on 127.0.0.1; `MODEL_HOST_ALLOWLIST: ''` takes this away.
    MODEL_HOST_ALLOWLIST: '127.0.0.1',
    // Restricted conversations at rest (issue #21): a fixed test KEK, so sibling nodes read each other's.
    ...(env.DATA_ENCRYPTION_KEY || env.DATA_ENCRYPTION_KEY_FILE ? {} : { DATA_ENCRYPTION_KEYS: TEST_DATA_ENCRYPTION_KEYS }),
    ...env,
  });
  const running = await startArgus(config, createLogger(config.logLevel), { serveClient: false });
  let ownerPool: Pool | null = null;
  return {
    ...running,
    databaseUrl: dbUrl,
    databaseOwnerUrl: dbOwnerUrl,
    ownerPool: () => (ownerPool ??= createPool(dbOwnerUrl, createLogger('silent'), 2)),
    redisPrefix,
    client: () => new TestClient(running.url, config.origin),
    authenticator: (options) => new SoftAuthenticator(config.origin, config.rpId, options),
    async destroy() {
      await running.close();
      await ownerPool?.end();
      if (database) await database.drop();
      if (!shared) await clearRedisPrefix(redisPrefix, config.redisUrl ?? TEST_REDIS_URL);
    },
  };
}

export interface TestResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** A fetch client with a cookie jar that behaves like the SPA (same-origin JSON). */
export class TestClient {
  cookie: string | null = null;

  constructor(
    readonly baseUrl: string,
    readonly origin: string,
  ) {}

  /** The same signed-in session (the same cookie), talking to another node. */
  sameSessionOn(node: { url: string }): TestClient {
    const other = new TestClient(node.url, this.origin);
    other.cookie = this.cookie;
    return other;
  }

  get sessionId(): string | null {
    return this.cookie?.match(/argus\.sid=([^;]+)/)?.[1] ?? null;
  }

  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<TestResponse<T>> {
    const init: RequestInit = {
      method,
      headers: {
        origin: this.origin,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...headers,
      },
      redirect: 'manual',
    };
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
    const response = await fetch(this.baseUrl + path, init);
    // The session cookie only: the device cookie a full sign-in also sets (argus.device) is read
    // from the headers by the tests that need it (server/auth/deviceLockout.test.ts).
    const setCookie = response.headers.getSetCookie().find((header) => header.startsWith('argus.sid='));
    if (setCookie) {
      const pair = setCookie.split(';')[0]!;
      this.cookie = /=$/.test(pair) || /Expires=Thu, 01 Jan 1970/i.test(setCookie) ? null : pair;
    }
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as T };
  }

  get<T = unknown>(path: string) {
    return this.request<T>('GET', path);
  }

  post<T = unknown>(path: string, body: unknown = {}) {
    return this.request<T>('POST', path, body);
  }

  patch<T = unknown>(path: string, body: unknown) {
    return this.request<T>('PATCH', path, body);
  }
}

export function errorCode(response: TestResponse): string | undefined {
  return (response.body as ErrorBody | undefined)?.error?.code;
}

/**
 * A new user with an open enrollment link, made through the same path an admin would;
 * `token` is the link's.
 */
export async function createEnrollee(
  node: TestNode,
  { username, displayName = username, role = 'user' }: { username: string; displayName?: string; role?: 'user' | 'admin' | 'auditor' },
) {
  const { createUserWithEnrollment } = await import('../users/createUser.ts');
  const result = await createUserWithEnrollment({
    pool: node.deps.pool,
    config: node.deps.config,
    username,
    displayName,
    role,
    context: { actor: null, ip: null, userAgent: 'test' },
  });
  if (!result.created) throw new Error(`test user ${username} exists`);
  return { user: result.user, enrollment: result.enrollment, token: tokenOf(result.enrollment.url) };
}

/**
 * Creates a user with an enrollment link, completes the enrollment over HTTP with a software
 * security key, and returns a client signed in as that user, with the authenticator that
 * holds their key.
 */
export async function enrollUser(
  node: TestNode,
  { username, role = 'user', password = 'correct horse battery', authenticator }: {
    username: string;
    role?: 'user' | 'admin' | 'auditor';
    password?: string;
    authenticator?: SoftAuthenticator;
  },
): Promise<{ client: TestClient; userId: string; password: string; authenticator: SoftAuthenticator; keyId: string }> {
  const { user, token } = await createEnrollee(node, { username, role });
  const client = node.client();
  const key = authenticator ?? node.authenticator();
  await expectOk(client.post(`/api/enrollment/${token}/password`, { password }));
  const { options } = (await expectOk(client.post<{ options: { challenge: string } }>(`/api/enrollment/${token}/key/options`))).body;
  await expectOk(client.post(`/api/enrollment/${token}/key`, { response: key.register(options), nickname: `${username}'s key` }));
  const keyId = (await client.get<{ keys: Array<{ id: string }> }>('/api/account/keys')).body.keys.at(-1)?.id ?? '';
  await settleOutbox(node);
  return { client, userId: user.id, password, authenticator: key, keyId };
}

/** An admin, enrolled and freshly stepped up: ready for the routes that ask for a recent assertion. */
export async function enrollSteppedUpAdmin(node: TestNode, username: string): ReturnType<typeof enrollUser> {
  const admin = await enrollUser(node, { username, role: 'admin' });
  await stepUpWith(admin.client, admin.authenticator);
  return admin;
}

/** Another node on this node's Postgres and Redis, as a second server behind the load balancer. */
export function startSiblingNode(node: TestNode, env: Env = { SIGNIN_RATE_PER_MINUTE: '1000' }): Promise<TestNode> {
  return startTestNode(env, { databaseUrl: node.databaseUrl, databaseOwnerUrl: node.databaseOwnerUrl, redisPrefix: node.redisPrefix });
}

/** Both sign-in steps: password, then an assertion from the authenticator. */
export async function signIn(
  node: TestNode,
  { username, password, authenticator, client = node.client() }: { username: string; password: string; authenticator: SoftAuthenticator; client?: TestClient },
): Promise<TestClient> {
  await expectOk(client.post('/api/auth/signin', { username, password }));
  const { options } = (await expectOk(client.post<{ options: { challenge: string } }>('/api/auth/key/options'))).body;
  await expectOk(client.post('/api/auth/key', { response: authenticator.assert(options) }));
  await settleOutbox(node);
  return client;
}

/**
 * Appends what the ceremony queued in the audit outbox (`webauthn.options_issued`), as the
 * node's drainer would within a second, so a test starts from a chain that is not about to grow.
 */
async function settleOutbox(node: TestNode): Promise<void> {
  // A node in another process (server/system/cluster.test.ts) has no deps here: its own drainer runs.
  await node.deps.auditOutbox?.drain();
}

async function expectOk<T>(pending: Promise<TestResponse<T>>): Promise<TestResponse<T>> {
  const response = await pending;
  if (response.status >= 300) throw new Error(`expected success, got ${response.status}: ${JSON.stringify(response.body)}`);
  return response;
}

export function tokenOf(enrollmentUrl: string): string {
  return new URL(enrollmentUrl).pathname.split('/').pop()!;
}

/** The session id behind a client's signed cookie (`s:<sid>.<signature>`). */
export function sessionIdOf(client: TestClient): string {
  return decodeURIComponent(client.sessionId!).slice(2).split('.')[0]!;
}

/** A session as the node stored it in Redis (its MAC checked), or null if there is none. */
export async function storedSession(node: TestNode, sid: string): Promise<session.SessionData | null> {
  const raw = await node.deps.redis.get(`sess:${sid}`);
  if (raw === null) return null;
  const opened = openSession(new RecordMac(node.deps.config.grants.signingKeys), sid, raw);
  if (!('data' in opened)) throw new Error(`session ${sid} is stored without a valid MAC (${opened.forged})`);
  return opened.data;
}

/**
 * Changes a session in Redis as time would have (an older step-up, an older sign-in), sealed
 * again with the node's record key as a node would write it. Keeps its TTL unless `ttlMs` is given.
 */
export async function editStoredSession(node: TestNode, sid: string, edit: (data: session.SessionData) => void, { ttlMs }: { ttlMs?: number } = {}): Promise<void> {
  const raw = await node.deps.redis.get(`sess:${sid}`);
  if (raw === null) throw new Error(`no session ${sid}`);
  const sealed = resealedSession(new RecordMac(node.deps.config.grants.signingKeys), sid, raw, edit);
  if (ttlMs === undefined) await node.deps.redis.set(`sess:${sid}`, sealed, 'KEEPTTL');
  else await node.deps.redis.set(`sess:${sid}`, sealed, 'PX', ttlMs);
}

/** Makes a session's step-up stale, as if its last assertion were an hour old. */
export async function expireStepUp(node: TestNode, client: TestClient): Promise<void> {
  await editStoredSession(node, sessionIdOf(client), (data) => {
    data.stepUpAt -= 60 * 60_000;
  });
}

/** The newest audit event with this action, as the audit API shows it; undefined when there is none. */
export async function lastAudit(node: TestNode, action: string): Promise<AuditEventView | undefined> {
  const [event] = await searchAuditEvents(node.deps.pool, { action }, { limit: 1 });
  return event;
}

/** A restricted stream's answer (model `demo-restricted`): only its status, and its error code when refused; a stream is dropped at once. */
export async function restrictedStreamStatus(client: TestClient): Promise<{ status: number; code?: string }> {
  const response = await fetch(`${client.baseUrl}/api/chat/stream`, {
    method: 'POST',
    headers: { origin: client.origin, 'content-type': 'application/json', cookie: client.cookie! },
    body: JSON.stringify({ model: 'demo-restricted', messages: [{ role: 'user', content: 'hello' }] }),
  });
  if (response.status === 200) {
    await response.body!.cancel();
    return { status: 200 };
  }
  return { status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code };
}

/**
 * Three nodes on one database and Redis, as during a rotation of GRANT_SIGNING_KEYS: `before`
 * holds only the old key, `rotating` signs with the new and still accepts the old, `after`
 * holds only the new.
 */
export async function startRotatingNodes(): Promise<{ before: TestNode; rotating: TestNode; after: TestNode; destroy: () => Promise<void> }> {
  const [oldSecret, newSecret] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
  const before = await startTestNode({ GRANT_SIGNING_KEYS: `old:${oldSecret}` });
  const shared = { databaseUrl: before.databaseUrl, redisPrefix: before.redisPrefix };
  const rotating = await startTestNode({ GRANT_SIGNING_KEYS: `new:${newSecret},old:${oldSecret}` }, shared);
  const after = await startTestNode({ GRANT_SIGNING_KEYS: `new:${newSecret}` }, shared);
  return {
    before,
    rotating,
    after,
    destroy: async () => {
      await after.destroy();
      await rotating.destroy();
      await before.destroy();
    },
  };
}

/** A fresh step-up: options, a touch of `authenticator`, and the verified assertion. */
export async function stepUpWith(client: TestClient, authenticator: SoftAuthenticator): Promise<void> {
  const { options } = (await expectOk(client.post<{ options: { challenge: string } }>('/api/account/step-up/options'))).body;
  await expectOk(client.post('/api/account/step-up', { response: authenticator.assert(options) }));
}

/**
 * A key row for a user, without a ceremony: for tests of what happens to keys (admin changes,
 * races), not of signing in with them; its public key verifies nothing.
 */
export async function insertKeyRow(node: TestNode, userId: string, nickname = 'spare'): Promise<string> {
  const { rows } = await query<{ id: string }>(
    node.deps.pool,
    'test_insert_key',
    `INSERT INTO security_key (user_id, credential_id, public_key, aaguid, model_name, device_type, backed_up, nickname)
     VALUES ($1::uuid, decode(md5(random()::text), 'hex'), '\\x00'::bytea, gen_random_uuid(), 'Test key', 'singleDevice', false, $2::text)
     RETURNING id`,
    [userId, nickname],
  );
  return rows[0]!.id;
}
