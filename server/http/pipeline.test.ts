import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollUser, startTestNode, type TestNode } from '../test/harness.ts';

/** What the middleware stack's shortcuts (issue #24) must not change. */
describe('the request pipeline', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.destroy();
  });

  it('answers /healthz however its path is spelled, as the router matches it', async () => {
    for (const path of ['/healthz', '/healthz/', '/HEALTHZ']) {
      const response = await fetch(node.url + path);
      expect(response.status, path).toBe(200);
      expect(await response.json(), path).toEqual({ status: 'ok' });
    }
  });

  it('still parses (and refuses) a body sent with a GET: only requests without one skip the parser', async () => {
    // fetch sends no body with a GET: node:http does.
    const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${node.url}/api/session`, { method: 'GET', headers: { 'content-type': 'application/json', 'content-length': '10' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end('{"not json');
    });
    expect(status.status).toBe(400);
    expect((JSON.parse(status.body) as { error: { code: string } }).error.code).toBe('MALFORMED_JSON');
    expect((await fetch(`${node.url}/api/session`)).status).toBe(200);
  });

  it('sends no ETag on API answers, so no body is hashed and none is answered 304', async () => {
    const user = await enrollUser(node, { username: 'etta' });
    const first = await user.client.request('GET', '/api/session');
    expect(first.status).toBe(200);
    expect(first.headers.get('etag')).toBeNull();
    const again = await fetch(`${node.url}/api/session`, { headers: { cookie: user.client.cookie!, 'if-none-match': '*' } });
    expect(again.status).toBe(200);
  });

  it('reaches the back-channel logout route before the API router’s CSRF guard, however its path is spelled', async () => {
    for (const path of ['/api/auth/oidc/backchannel-logout', '/api/auth/oidc/backchannel-logout/']) {
      // As the provider sends it: form-encoded, no Origin, no session.
      const response = await fetch(node.url + path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'logout_token=x' });
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code, path).toBe('OIDC_NOT_CONFIGURED');
    }
    // Any other path is an ordinary API request, behind the CSRF guard.
    const other = await fetch(`${node.url}/api/auth/oidc/backchannel`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'logout_token=x' });
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('CSRF_REJECTED');
  });
});
