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

  describe('cursors and dates at the edges of what Postgres stores (outside fuzz run)', () => {
    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
    const uuid = '00000000-0000-0000-0000-000000000000';
    /** Decoded cursor contents JavaScript's Date.parse accepts and Postgres refuses (or cannot store). */
    const oddCursors = [
      `1|${uuid}`,
      `0000-01-01T00:00:00.000000Z|${uuid}`,
      `+275760-09-13T00:00:00.000Z|${uuid}`,
      `2024-01-01T00:00:00-23:59|${uuid}`,
      `294277-01-01T00:00:00Z|${uuid}`,
      `2024-02-30T00:00:00.000000Z|${uuid}`,
      `2024-01-01T00:00:00.000000Z\u0000|${uuid}`,
      `2024-01-01T00:00:00.000000Z|${uuid}\u0000`,
      `2024-01-01T00:00:00.000000Z|${uuid}|extra`,
    ];

    it.each(['/api/conversations', '/api/admin/keys', '/api/admin/detectors'])('answers 400 to a cursor with an odd date or id on %s', async (path) => {
      for (const cursor of oddCursors) {
        const response = await admin.get(`${path}?after=${b64(cursor)}`);
        expect(response.status, `${path} after ${JSON.stringify(cursor)}`).toBe(400);
        expect(errorCode(response)).toBe('VALIDATION_FAILED');
      }
      // A cursor as the server writes it still pages.
      expect((await admin.get(`${path}?after=${b64(`2024-01-01T00:00:00.000000Z|${uuid}`)}`)).status).toBe(200);
    });

    it('answers 400 to a user-list cursor that decodes to NUL or to text no username has', async () => {
      for (const after of ['AA', b64('a\u0000b'), b64('\uFFFD'), '_w', b64('x'.repeat(120))]) {
        const response = await admin.get(`/api/admin/users?after=${after}`);
        expect(response.status, after).toBe(400);
        expect(errorCode(response)).toBe('VALIDATION_FAILED');
      }
      expect((await admin.get(`/api/admin/users?after=${b64('finder')}`)).status).toBe(200);
    });

    it('answers 400 to audit dates Postgres refuses, in a search and in an export filter', async () => {
      const refused = ['0000-01-01T00:00:00Z', '2024-01-01T00:00:00-23:59', '2024-01-01T00:00:00+16:00', '2024-02-30T00:00:00Z', '10000-01-01T00:00:00Z'];
      for (const date of refused) {
        for (const field of ['from', 'to']) {
          const search = await admin.get(`/api/audit/events?${field}=${encodeURIComponent(date)}`);
          expect(search.status, `${field}=${date}`).toBe(400);
          expect(errorCode(search)).toBe('VALIDATION_FAILED');
          const exported = await admin.post('/api/audit/exports', { format: 'jsonl', filter: { [field]: date } });
          expect(exported.status, `export ${field}=${date}`).toBe(400);
          expect(errorCode(exported)).toBe('VALIDATION_FAILED');
        }
      }
      // The edges Postgres does store are accepted.
      for (const date of ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999999+15:59', '2024-01-01T00:00:00-15:59']) {
        expect((await admin.get(`/api/audit/events?from=${encodeURIComponent(date)}`)).status, date).toBe(200);
      }
    });
  });
});
