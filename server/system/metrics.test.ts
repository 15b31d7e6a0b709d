import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantResponse } from '../../shared/api.ts';
import { enrollUser, startTestNode, type TestNode } from '../test/harness.ts';
import { freePort } from '../test/env.ts';
import { TestSocket } from '../test/wsClient.ts';

const TOKEN = 'metrics-token-0123456789abcdef';

/** Prometheus text format → samples (name, labels, value). Enough of the format for these checks. */
function parse(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

describe('/metrics', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ METRICS_TOKEN: TOKEN, CHAT_REQUESTS_PER_MINUTE: '2' });
  });
  afterAll(async () => {
    await node.destroy();
  });

  const scrape = async () => {
    const response = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parse(await response.text());
  };
  const value = (samples: Awaited<ReturnType<typeof scrape>>, name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);

  it('refuses a scrape without the bearer token, or with a wrong one', async () => {
    expect((await fetch(`${node.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect((await fetch(`${node.url}/metrics`, { headers: { authorization: TOKEN } })).status).toBe(401);
  });

  it('counts sign-ins, WebAuthn, HTTP, WebSockets, grants, restricted use, rate limits, session cache reads and audit appends', async () => {
    const before = await scrape();
    const user = await enrollUser(node, { username: 'metered' });
    await user.client.get('/api/session');
    const socket = await TestSocket.open(node.url, { cookie: user.client.cookie, origin: user.client.origin });
    const options = await user.client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options');
    const unlocked = await user.client.post<GrantResponse>('/api/verify-key-ownership', { response: user.authenticator.assert(options.body.options), presenceMode: 'assertion' });
    expect(unlocked.status).toBe(200);
    const chat = (model: string) =>
      fetch(`${node.url}/api/chat/stream`, {
        method: 'POST',
        headers: { origin: user.client.origin, cookie: user.client.cookie!, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      }).then(async (r) => (await r.text(), r.status));
    expect(await chat('demo-restricted')).toBe(200);
    expect(await chat('demo-standard')).toBe(200);
    expect(await chat('demo-standard')).toBe(429);
    let during = await scrape();
    expect(value(during, 'argus_ws_connections_active', { kind: 'browser' })).toBe(1);
    expect(value(during, 'argus_grants_active')).toBe(1);
    expect((await user.client.request('DELETE', '/api/grants/current', { reason: 'key_removed' })).status).toBe(204);
    socket.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);

    expect(delta('argus_signins_total', { outcome: 'password_ok' })).toBe(0); // enrollment signs in without the password step
    expect(delta('argus_webauthn_verifications_total', { ceremony: 'registration', outcome: 'verified' })).toBe(1);
    expect(delta('argus_webauthn_verifications_total', { ceremony: 'assertion', outcome: 'verified' })).toBe(1);
    expect(delta('argus_http_request_duration_seconds_count', { method: 'GET', route: '/api/session', status: '200' })).toBe(1);
    expect(delta('argus_ws_connections_total', { kind: 'browser' })).toBe(1);
    expect(value(after, 'argus_ws_connections_active', { kind: 'browser' })).toBe(0);
    expect(delta('argus_grants_issued_total')).toBe(1);
    expect(delta('argus_grants_ended_total', { reason: 'key_removed' })).toBe(1);
    expect(value(after, 'argus_grants_active')).toBe(0);
    expect(delta('argus_restricted_model_requests_total', { outcome: 'allowed' })).toBe(1);
    expect(delta('argus_rate_limit_hits_total', { limiter: 'RATE_LIMITED', route: '/api/chat/stream' })).toBe(1);
    expect(delta('argus_audit_append_duration_seconds_count')).toBeGreaterThan(3);
    expect(delta('argus_audit_events_total', { action: 'grant.issued', outcome: 'success' })).toBe(1);
    expect(value(after, 'argus_process_resident_memory_bytes')).toBeGreaterThan(0);
    // The user's requests came one after another within seconds: the session was read from Redis, then from memory.
    expect(delta('argus_session_cache_reads_total', { result: 'miss' })).toBeGreaterThan(0);
    expect(delta('argus_session_cache_reads_total', { result: 'hit' })).toBeGreaterThan(0);

    await user.client.post('/api/auth/signout');
    const signInOptions = await user.client.post('/api/auth/signin', { username: 'metered', password: 'wrong wrong wrong' });
    expect(signInOptions.status).toBe(401);
    during = await scrape();
    expect(value(during, 'argus_signins_total', { outcome: 'bad_password' }) - value(before, 'argus_signins_total', { outcome: 'bad_password' })).toBe(1);
  });

  it('is not served at all unless configured, and can live on an internal port of its own', async () => {
    const port = await freePort();
    const internal = await startTestNode({ METRICS_PORT: String(port) }, { databaseUrl: node.databaseUrl, redisPrefix: node.redisPrefix });
    try {
      expect((await fetch(`${internal.url}/metrics`)).status).toBe(404);
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(response.status).toBe(200);
      expect(await response.text()).toMatch(/^# HELP argus_/m);
    } finally {
      await internal.destroy();
    }
  });
});
