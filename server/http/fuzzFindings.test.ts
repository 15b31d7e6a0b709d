import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollUser, errorCode, startTestNode, stepUpWith, type TestClient, type TestNode } from '../test/harness.ts';

/** Regressions for bugs the fuzz suites (server/fuzz/) found, one focused test each. */

let node: TestNode;
let admin: TestClient;
let keyId: string;
beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
  const enrolled = await enrollUser(node, { username: 'finder', role: 'admin' });
  admin = enrolled.client;
  keyId = enrolled.keyId;
  await stepUpWith(admin, enrolled.authenticator);
});
afterAll(() => node.destroy());

describe('fuzz findings', () => {
  it('answers 400, not 500, to a path parameter that is not valid percent-encoding', async () => {
    for (const path of ['/api/enrollment/%E0%A4%A', '/api/admin/users/%', '/api/conversations/%ZZ']) {
      const response = await admin.get(path);
      expect(response.status, path).toBe(400);
      expect(errorCode(response)).toBe('VALIDATION_FAILED');
    }
  });

  it('answers 400, not 500, to a body that does not match its Content-Encoding', async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const response = await admin.request('POST', '/api/conversations', '{"title":"plain, not compressed"}', { 'content-encoding': encoding });
      expect(response.status, encoding).toBe(400);
      expect(errorCode(response)).toBe('VALIDATION_FAILED');
    }
    expect((await admin.get('/healthz')).status).toBe(200);
  });

  it('answers 400, not 500, to text holding a NUL character or a lone surrogate, which Postgres cannot store', async () => {
    const attempts: Array<[string, string, unknown]> = [
      ['POST', '/api/conversations', { title: 'a\u0000b', model: 'demo-standard' }],
      ['POST', '/api/admin/users', { username: 'nul-user', displayName: 'x\u0000y', role: 'user' }],
      ['PATCH', `/api/account/keys/${keyId}`, { nickname: 'key\u0000' }],
      ['POST', '/api/admin/users', { username: 'nul-key', role: 'user', ['a\u0000']: 1 }],
      ['GET', '/api/admin/users?q=%00', undefined],
      // A lone surrogate: the audit record of a failed sign-in quotes the username into jsonb.
      ['POST', '/api/auth/signin', { username: 'a\uD800', password: 'whatever it is' }],
      ['POST', '/api/auth/signin', { username: ':\uDFFF', password: 'whatever it is' }],
      ['POST', '/api/conversations', { title: 'half a \uD83D', model: 'demo-standard' }],
    ];
    for (const [method, path, body] of attempts) {
      const response = await admin.request(method, path, body);
      expect(response.status, `${method} ${path}`).toBe(400);
      expect(errorCode(response)).toBe('VALIDATION_FAILED');
    }
    // Nothing was stored on the way.
    expect((await admin.get<{ users: Array<{ username: string }> }>('/api/admin/users?q=nul')).body.users).toEqual([]);
    expect((await admin.get<{ conversations: unknown[] }>('/api/conversations')).body.conversations).toEqual([]);
  });
});
