import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ROUTES } from '../app.ts';
import { SLOW_CLIENT_LIMITS } from '../runtime.ts';
import { enrollUser, errorCode, startTestNode, stepUpWith, type TestNode } from '../test/harness.ts';
import { JSON_MAX_DEPTH, jsonNestsDeeperThan } from './jsonDepth.ts';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
});
afterAll(() => node.destroy());

const nested = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);

/** A raw HTTP/1.1 exchange, so nothing in a client library shortens or refuses what we send. */
function rawRequest(path: string, headers: Record<string, string> = {}): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(node.url);
    const req = httpRequest({ hostname, port, path, method: 'GET', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('JSON depth', () => {
  it('counts brackets outside strings only, escapes included', () => {
    expect(jsonNestsDeeperThan(Buffer.from(nested(JSON_MAX_DEPTH)))).toBe(false);
    expect(jsonNestsDeeperThan(Buffer.from(nested(JSON_MAX_DEPTH + 1)))).toBe(true);
    expect(jsonNestsDeeperThan(Buffer.from(JSON.stringify({ a: '['.repeat(100), b: '\\"[[[[' })))).toBe(false);
    expect(jsonNestsDeeperThan(Buffer.from(JSON.stringify({ a: '"\\', b: nested(40) })))).toBe(false);
    expect(jsonNestsDeeperThan(Buffer.from(`{"a\\"":${nested(40)}}`))).toBe(true);
    expect(jsonNestsDeeperThan(Buffer.from(JSON.stringify({ ['☃'.repeat(10)]: [[['é']]] })), 4)).toBe(false);
  });

  it(`refuses a body nested deeper than ${JSON_MAX_DEPTH} with 400 JSON_TOO_DEEP, and parses one at the limit`, async () => {
    // The object is one level, the arrays inside it the rest.
    const deep = await node.client().request('POST', '/api/auth/signin', `{"username":${nested(JSON_MAX_DEPTH - 1)}}`);
    expect(deep.status).toBe(400);
    expect(errorCode(deep)).toBe('VALIDATION_FAILED');
    const tooDeep = await node.client().request('POST', '/api/auth/signin', `{"username":${nested(JSON_MAX_DEPTH)}}`);
    expect(tooDeep.status).toBe(400);
    expect(errorCode(tooDeep)).toBe('JSON_TOO_DEEP');
    // Very deep: still one quick pass, no stack overflow, no 500.
    const abyss = await node.client().request('POST', '/api/auth/signin', nested(30_000));
    expect(errorCode(abyss)).toBe('JSON_TOO_DEEP');
  });
});

describe('header and URL size', () => {
  it('answers 431 to a huge header, and keeps serving', async () => {
    expect((await rawRequest('/api/models', { 'x-padding': 'a'.repeat(64 * 1024) })).status).toBe(431);
    expect((await rawRequest('/api/models', { cookie: `argus.sid=${'b'.repeat(32 * 1024)}` })).status).toBe(431);
    expect((await rawRequest('/healthz')).status).toBe(200);
  });

  it('answers 431 to a huge URL, and keeps serving', async () => {
    expect((await rawRequest(`/api/models?q=${'c'.repeat(64 * 1024)}`)).status).toBe(431);
    expect((await rawRequest(`/api/${'d/'.repeat(32 * 1024)}`)).status).toBe(431);
    expect((await rawRequest('/healthz')).status).toBe(200);
  });
});

describe('slow clients', () => {
  it('bounds how long headers and requests may take, and sweeps often enough to hold the bounds', () => {
    expect(node.server.headersTimeout).toBe(SLOW_CLIENT_LIMITS.headersTimeoutMs);
    expect(node.server.requestTimeout).toBe(SLOW_CLIENT_LIMITS.requestTimeoutMs);
    expect(SLOW_CLIENT_LIMITS.headersTimeoutMs).toBeLessThanOrEqual(15_000);
    expect(SLOW_CLIENT_LIMITS.checkEveryMs).toBeLessThanOrEqual(5_000);
  });

  it('drops a client that trickles its headers (slow loris)', async () => {
    const quick = await startTestNode({});
    quick.server.headersTimeout = 1_000;
    try {
      const { hostname, port } = new URL(quick.url);
      const started = Date.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.write('GET /healthz HTTP/1.1\r\nHost: argus.test\r\n'));
        let received = '';
        // One more header byte now and then, never the blank line that ends them.
        const trickle = setInterval(() => socket.write('X'), 200);
        socket.on('data', (chunk) => (received += String(chunk)));
        socket.on('close', () => {
          clearInterval(trickle);
          resolve(received);
        });
        socket.on('error', (error) => {
          clearInterval(trickle);
          reject(error);
        });
      });
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(Date.now() - started).toBeLessThan(1_000 + SLOW_CLIENT_LIMITS.checkEveryMs + 2_000);
    } finally {
      await quick.destroy();
    }
  });
});

describe('per-caller budgets on costly routes', () => {
  const limited = API_ROUTES.filter((route) => route.rateLimit);

  it('puts a budget on every costly route', () => {
    expect(limited.map((route) => `${route.method.toUpperCase()} ${route.path}`).sort()).toEqual(
      expect.arrayContaining([
        'GET /api/audit/verify',
        'POST /api/account/keys/options',
        'POST /api/account/step-up/options',
        'POST /api/admin/models/:id/test',
        'POST /api/detectors/pairing-codes',
        'POST /api/verify-key-ownership/options',
      ]),
    );
  });

  it('leaves no costly-looking route without a budget, but for the few with a stated reason', () => {
    // Routes that mint challenges (audited), call upstream, verify or export in bulk.
    const costly = API_ROUTES.filter((route) => /\/options$|export|\/test$|\/verify$|pairing-codes/.test(route.path));
    const exempt: Record<string, string> = {
      'POST /api/auth/key/options': 'reached only with a password-stage session, behind the per-IP sign-in throttle',
      'POST /api/enrollment/:token/key/options': 'reached only with a live single-use enrollment token',
    };
    const missing = costly.map((route) => `${route.method.toUpperCase()} ${route.path}`).filter((name) => !exempt[name] && !API_ROUTES.find((r) => `${r.method.toUpperCase()} ${r.path}` === name)?.rateLimit);
    expect(missing).toEqual([]);
    expect(costly.length).toBeGreaterThanOrEqual(6);
  });

  it('says so in the API document', async () => {
    const document = (await node.client().get<{ paths: Record<string, Record<string, { description: string }>> }>('/api/openapi.json')).body;
    expect(document.paths['/api/admin/models/{id}/test']!.post!.description).toMatch(/At most 10 requests per caller per 1 min/);
  });

  /** Routes whose empty input would be refused (and so never spend the budget): a valid one. */
  const VALID_INPUT: Record<string, { id?: string; body?: unknown }> = {
    'POST /api/audit/exports': { body: { format: 'jsonl', filter: { action: 'no.such_action' } } },
    'GET /api/audit/exports/:id/manifest': { id: '00000000-0000-4000-8000-000000000000' },
    // Event #1 exists in every node's chain (it names no grant: a 404, which spends the budget as a lookup).
    'GET /api/audit/events/:seq/proof': { id: '1' },
  };

  it('answers 429 RATE_LIMITED with Retry-After once a caller has spent a route’s budget, and only to that caller', async () => {
    let n = 0;
    for (const route of limited) {
      const budget = route.rateLimit!.points;
      const method = route.method.toUpperCase();
      const sample = VALID_INPUT[`${method} ${route.path}`];
      const path = route.path.replace(/:(id|seq)\b/, sample?.id ?? 'demo-standard');
      const body = method === 'GET' ? undefined : (sample?.body ?? {});
      const admin = await enrollUser(node, { username: `budget${(n += 1)}`, role: 'admin' });
      if (route.stepUp) await stepUpWith(admin.client, admin.authenticator);
      // (A step-up spends step-up options, never the budget of the route under test.)
      for (let i = 0; i < budget; i += 1) {
        const response = await admin.client.request(method, path, body);
        expect(response.status, `${method} ${route.path} call ${i + 1}`).not.toBe(429);
      }
      const refused = await admin.client.request(method, path, body);
      expect(refused.status, `${method} ${route.path}`).toBe(429);
      expect(errorCode(refused)).toBe('RATE_LIMITED');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another caller has a budget of their own.
      const other = await enrollUser(node, { username: `other${n}`, role: 'admin' });
      if (route.stepUp) await stepUpWith(other.client, other.authenticator);
      expect((await other.client.request(method, path, body)).status, `${method} ${route.path} for another caller`).not.toBe(429);
    }
  }, 120_000);

  it('does not spend the budget on requests refused for their input', async () => {
    const admin = await enrollUser(node, { username: 'careful', role: 'admin' });
    await stepUpWith(admin.client, admin.authenticator);
    for (let i = 0; i < 15; i += 1) expect(errorCode(await admin.client.post('/api/admin/models/NOT_AN_ID/test'))).toBe('VALIDATION_FAILED');
    expect((await admin.client.post('/api/admin/models/demo-standard/test')).status).toBe(200);
  });
});
