import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ROLES } from '../../shared/api.ts';
import { API_ROUTES } from '../app.ts';
import { enrollUser, errorCode, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';

let node: TestNode;
let clients: Record<(typeof ROLES)[number], TestClient>;

beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000', BODY_LIMIT_BYTES: '2048' });
  clients = {
    user: (await enrollUser(node, { username: 'uma', role: 'user' })).client,
    admin: (await enrollUser(node, { username: 'ada', role: 'admin' })).client,
    auditor: (await enrollUser(node, { username: 'otto', role: 'auditor' })).client,
  };
});
afterAll(() => node.destroy());

function concretePath(path: string): string {
  return path.replace(':id', '6f1c1c52-2a5b-4e4f-9a53-2f5d0b8b1e11').replace(':token', 'A'.repeat(43));
}

describe('authorisation', () => {
  const restricted = API_ROUTES.filter((route) => route.access !== 'public');

  it('has an explicit rule on every route, and restricted routes exist', () => {
    for (const route of API_ROUTES) expect(route.access, `${route.method} ${route.path}`).toBeDefined();
    expect(restricted.length).toBeGreaterThan(3);
  });

  it('answers 401 to every non-public route without a session', async () => {
    for (const route of restricted) {
      const response = await node.client().request(route.method.toUpperCase(), concretePath(route.path), route.method === 'get' ? undefined : {});
      expect(response.status, `${route.method} ${route.path}`).toBe(401);
      expect(errorCode(response)).toBe('UNAUTHENTICATED');
    }
  });

  it('answers 403 to every role a route does not list', async () => {
    let checked = 0;
    for (const route of restricted) {
      if (!Array.isArray(route.access)) continue;
      for (const role of ROLES.filter((r) => !route.access.includes(r))) {
        const response = await clients[role].request(route.method.toUpperCase(), concretePath(route.path), route.method === 'get' ? undefined : {});
        expect(response.status, `${role}: ${route.method} ${route.path}`).toBe(403);
        expect(errorCode(response)).toBe('FORBIDDEN');
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });

  it('answers 403 to users and auditors on every /api/admin route, whatever rule the route states', async () => {
    const adminRoutes = API_ROUTES.filter((route) => route.path.startsWith('/api/admin'));
    expect(adminRoutes.length).toBeGreaterThanOrEqual(10);
    for (const route of adminRoutes) {
      for (const role of ['user', 'auditor'] as const) {
        const response = await clients[role].request(route.method.toUpperCase(), concretePath(route.path), route.method === 'get' ? undefined : {});
        expect(response.status, `${role}: ${route.method} ${route.path}`).toBe(403);
        expect(errorCode(response)).toBe('FORBIDDEN');
      }
    }
  });

  it('declares a step-up on every change an admin may make', () => {
    const changes = API_ROUTES.filter((route) => route.method !== 'get' && !route.readOnly && Array.isArray(route.access) && route.access.includes('admin'));
    // Users (create, change, new link, delete), keys (status, reassign, delete), grants (revoke).
    expect(changes.length).toBeGreaterThanOrEqual(8);
    expect(changes.filter((route) => route.stepUp !== true).map((route) => `${route.method} ${route.path}`)).toEqual([]);
  });

  it('lets auditors read the audit log and admins manage users', async () => {
    expect((await clients.auditor.get('/api/audit/events')).status).toBe(200);
    expect((await clients.auditor.get('/api/audit/verify')).body).toMatchObject({ intact: true });
    expect((await clients.admin.get('/api/admin/users')).status).toBe(200);
  });
});

describe('CSRF', () => {
  it('refuses a state-changing request from another origin', async () => {
    const response = await clients.admin.request('POST', '/api/admin/users', { username: 'evil', role: 'admin' }, { origin: 'https://evil.example' });
    expect(response.status).toBe(403);
    expect(errorCode(response)).toBe('CSRF_REJECTED');
  });

  it('refuses one with neither Origin nor Sec-Fetch-Site: same-origin', async () => {
    const client = clients.admin;
    const headers = { 'content-type': 'application/json', cookie: client.cookie! };
    const bare = await fetch(`${node.url}/api/admin/users`, { method: 'POST', headers, body: '{"username":"evil","role":"admin"}' });
    expect(bare.status).toBe(403);
    const crossSite = await fetch(`${node.url}/api/admin/users`, {
      method: 'POST',
      headers: { ...headers, 'sec-fetch-site': 'cross-site' },
      body: '{"username":"evil","role":"admin"}',
    });
    expect(crossSite.status).toBe(403);
    const sameOrigin = await fetch(`${node.url}/api/admin/users`, {
      method: 'POST',
      headers: { ...headers, 'sec-fetch-site': 'same-origin' },
      body: '{"username":"fine-user","role":"user"}',
    });
    expect(sameOrigin.status).toBe(201);
  });

  it('refuses a form-encoded body, which a cross-site form could send', async () => {
    const response = await clients.admin.request('POST', '/api/admin/users', 'username=evil&role=admin', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(response.status).toBe(415);
    expect(errorCode(response)).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('bad input', () => {
  it('answers 400 with the failing fields', async () => {
    const response = await clients.admin.post('/api/admin/users', { username: '', role: 'superuser', extra: 1 });
    expect(response.status).toBe(400);
    expect(errorCode(response)).toBe('VALIDATION_FAILED');
    const paths = (response.body as { error: { issues: Array<{ path: string }> } }).error.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['body.username', 'body.role']));
  });

  it('answers malformed JSON with 400 and an oversized body with 413', async () => {
    const malformed = await clients.admin.request('POST', '/api/admin/users', '{"username": ');
    expect(malformed.status).toBe(400);
    expect(errorCode(malformed)).toBe('MALFORMED_JSON');
    const huge = await clients.admin.post('/api/admin/users', { username: 'x'.repeat(4096), role: 'user' });
    expect(huge.status).toBe(413);
    expect(errorCode(huge)).toBe('PAYLOAD_TOO_LARGE');
  });

  it('validates query strings and path parameters', async () => {
    expect(errorCode(await clients.admin.get('/api/admin/users?limit=100000'))).toBe('VALIDATION_FAILED');
    expect(errorCode(await clients.admin.get('/api/admin/users?role=root'))).toBe('VALIDATION_FAILED');
    expect(errorCode(await clients.admin.patch('/api/admin/users/not-a-uuid', { status: 'disabled' }))).toBe('VALIDATION_FAILED');
    expect(errorCode(await clients.admin.patch('/api/admin/users/6f1c1c52-2a5b-4e4f-9a53-2f5d0b8b1e11', {}))).toBe('VALIDATION_FAILED');
    expect(errorCode(await clients.auditor.get('/api/audit/events?after=-1'))).toBe('VALIDATION_FAILED');
  });

  it('answers unknown API paths with the JSON error shape', async () => {
    const response = await clients.user.get('/api/nope');
    expect(response.status).toBe(404);
    expect(errorCode(response)).toBe('NOT_FOUND');
  });
});

describe('admin user management', () => {
  it('creates users with an enrollment link, refuses duplicate names, and pages by cursor', async () => {
    const created = await clients.admin.post<{ user: { id: string }; enrollment: { url: string } }>('/api/admin/users', {
      username: 'Newbie',
      displayName: 'New Person',
      role: 'auditor',
    });
    expect(created.status).toBe(201);
    expect(created.body.enrollment.url).toMatch(/^http:\/\/argus\.test\/enroll\/[A-Za-z0-9_-]{43}$/);
    const duplicate = await clients.admin.post('/api/admin/users', { username: 'NEWBIE', role: 'user' });
    expect(duplicate.status).toBe(409);

    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: { status: number; body: { users: Array<{ username: string }>; nextCursor: string | null } } = await clients.admin.get(
        `/api/admin/users?limit=2${cursor ? `&after=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.users.map((u) => u.username));
      cursor = page.body.nextCursor;
    }
    expect(seen).toEqual([...seen].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
    expect(seen).toEqual(expect.arrayContaining(['ada', 'Newbie', 'otto', 'uma']));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('never disables or demotes the last active admin', async () => {
    const me = (await clients.admin.get<{ user: { id: string } }>('/api/session')).body.user.id;
    const disable = await clients.admin.patch(`/api/admin/users/${me}`, { status: 'disabled' });
    expect(disable.status).toBe(409);
    expect(errorCode(disable)).toBe('LAST_ADMIN');
    const demote = await clients.admin.patch(`/api/admin/users/${me}`, { role: 'user' });
    expect(errorCode(demote)).toBe('LAST_ADMIN');
  });
});

describe('sign-in throttling', () => {
  let throttled: TestNode;
  beforeAll(async () => {
    throttled = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '10', SIGNIN_FAILURES_PER_USERNAME: '3' });
    await enrollUser(throttled, { username: 'target', password: 'eleven orange kites' });
  });
  afterAll(() => throttled.destroy());

  it('locks a username after repeated failures, before hashing, from any IP', async () => {
    for (let i = 0; i < 3; i += 1) {
      expect((await throttled.client().post('/api/auth/signin', { username: 'target', password: 'wrong guess number x' })).status).toBe(401);
    }
    const run = vi.spyOn(throttled.deps.hasher.limiter, 'run');
    const locked = await throttled.client().post('/api/auth/signin', { username: 'TARGET', password: 'eleven orange kites' });
    expect(locked.status).toBe(429);
    expect(errorCode(locked)).toBe('RATE_LIMITED');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(run).not.toHaveBeenCalled();
    run.mockRestore();
  });

  it('allows 10 attempts a minute per IP, then answers 429 with Retry-After without hashing', async () => {
    const client = throttled.client();
    // The 3 failures above and the locked attempt came from this IP too.
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      statuses.push((await client.post('/api/auth/signin', { username: `someone${i}`, password: 'any password at all' })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401]);
    const run = vi.spyOn(throttled.deps.hasher.limiter, 'run');
    const limited = await client.post('/api/auth/signin', { username: 'someone-else', password: 'any password at all' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((limited.body as { error: { retryAfter: number } }).error.retryAfter).toBeGreaterThan(0);
    expect(run).not.toHaveBeenCalled();
    run.mockRestore();
  });
});

describe('password hashing under load', () => {
  it('answers 503 SERVER_BUSY once the hash queue is full instead of queueing without bound', async () => {
    const busy = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000', ARGON2_MAX_CONCURRENT: '1', ARGON2_MAX_QUEUE: '1' });
    try {
      const attempts = await Promise.all(
        Array.from({ length: 6 }, (_, i) => busy.client().post('/api/auth/signin', { username: `flood${i}`, password: 'whatever it is here' })),
      );
      const statuses = attempts.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 401)).toHaveLength(2);
      expect(statuses.filter((s) => s === 503)).toHaveLength(4);
      expect(attempts.find((a) => a.status === 503)!.headers.get('retry-after')).toBe('2');
      expect(errorCode(attempts.find((a) => a.status === 503)!)).toBe('SERVER_BUSY');
    } finally {
      await busy.destroy();
    }
  });
});
