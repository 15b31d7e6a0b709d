import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollUser, errorCode, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';

/** Regressions for bugs the fuzz suites (server/fuzz/) found, one focused test each. */

let node: TestNode;
let admin: TestClient;
beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
  admin = (await enrollUser(node, { username: 'finder', role: 'admin' })).client;
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
});
