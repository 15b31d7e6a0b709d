import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminModelListResponse, AdminModelView, GrantResponse, ModelListResponse, ModelTestResult } from '../../shared/api.ts';
import type { AuditListResponse } from '../../shared/audit.ts';
import { enrollUser, errorCode, expireStepUp, lastAudit, startTestNode, stepUpWith, type TestClient, type TestNode } from '../test/harness.ts';
import { freePort } from '../test/env.ts';
import { FakeOpenAI } from '../test/fakeOpenAI.ts';
import { TestSocket } from '../test/wsClient.ts';

let node: TestNode;
let fake: FakeOpenAI;
let admin: Awaited<ReturnType<typeof enrollUser>>;
let user: TestClient;
let uma: Awaited<ReturnType<typeof enrollUser>>;
let auditor: TestClient;

beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
  fake = await FakeOpenAI.start();
  process.env.ADMIN_MODELS_TEST_KEY = 'sk-admin-models-secret';
  admin = await enrollUser(node, { username: 'ada', role: 'admin' });
  uma = await enrollUser(node, { username: 'uma', role: 'user' });
  user = uma.client;
  auditor = (await enrollUser(node, { username: 'otto', role: 'auditor' })).client;
});
afterAll(async () => {
  await fake.stop();
  await node.destroy();
});

const upstream = (id: string) => ({
  id,
  displayName: `Upstream ${id}`,
  provider: 'openai',
  baseUrl: fake.baseUrl,
  upstreamModel: 'llama3.2',
  apiKeyEnv: 'ADMIN_MODELS_TEST_KEY',
  tier: 'restricted',
  grantSeconds: 120,
  requiresUserVerification: true,
  maxOutputTokens: 256,
  description: 'A local test model.',
});

describe('the model catalog for admins', () => {
  it('lists every model with its settings, and only admins may read or change it', async () => {
    const list = await admin.client.get<AdminModelListResponse>('/api/admin/models');
    expect(list.status).toBe(200);
    expect(list.body.models.map((m) => m.id)).toEqual(['demo-restricted', 'demo-standard']);
    for (const client of [user, auditor]) {
      expect(errorCode(await client.get('/api/admin/models'))).toBe('FORBIDDEN');
      const refused = await client.post('/api/admin/models', upstream('sneaky'));
      expect(refused.status).toBe(403);
      expect(errorCode(refused)).toBe('FORBIDDEN');
      expect(errorCode(await client.patch('/api/admin/models/demo-standard', { enabled: false }))).toBe('FORBIDDEN');
      expect(errorCode(await client.post('/api/admin/models/demo-standard/test'))).toBe('FORBIDDEN');
    }
    expect((await admin.client.get<AdminModelListResponse>('/api/admin/models')).body.models).toHaveLength(2);
  });

  it('adds a model, audits it with its settings (the key variable name, never the key), and refuses a duplicate id', async () => {
    const added = await admin.client.post<{ model: AdminModelView }>('/api/admin/models', upstream('local-llama'));
    expect(added.status).toBe(201);
    expect(added.body.model).toMatchObject({ id: 'local-llama', tier: 'restricted', enabled: true, apiKeyEnv: 'ADMIN_MODELS_TEST_KEY', apiKeyConfigured: true, grantSeconds: 120 });
    expect(JSON.stringify(added.body)).not.toContain('sk-admin-models-secret');
    const event = await lastAudit(node, 'model.added');
    expect(event).toMatchObject({ actorUsername: 'ada', targetId: 'local-llama', severity: 'high' });
    expect(event!.details).toMatchObject({ after: { tier: 'restricted', apiKeyEnv: 'ADMIN_MODELS_TEST_KEY', baseUrl: fake.baseUrl } });
    expect(JSON.stringify(event)).not.toContain('sk-admin-models-secret');

    const again = await admin.client.post('/api/admin/models', upstream('local-llama'));
    expect(again.status).toBe(409);
    expect(errorCode(again)).toBe('CONFLICT');

    // Defaults as in the CLI: a demo model needs only an id and a name; upstream defaults to the id.
    const demo = await admin.client.post<{ model: AdminModelView }>('/api/admin/models', { id: 'demo-extra', displayName: 'Extra', provider: 'demo' });
    expect(demo.body.model).toMatchObject({ tier: 'standard', grantSeconds: 300, maxOutputTokens: 1024, upstreamModel: 'demo-extra', baseUrl: null });
  });

  it('answers 400 VALIDATION_FAILED with the fields at fault, never a 500', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...upstream('Bad Id!') }, 'body.id'],
      [{ ...upstream('no-url'), baseUrl: null }, 'body.baseUrl'],
      [{ ...upstream('ftp-url'), baseUrl: 'ftp://models.example/v1' }, 'body.baseUrl'],
      [{ ...upstream('userinfo'), baseUrl: 'https://admin:hunter2@models.example/v1' }, 'body.baseUrl'],
      [{ ...upstream('key-in-env'), apiKeyEnv: 'sk-live-1234' }, 'body.apiKeyEnv'],
      // Argus's own secrets are never sent upstream as a model's key.
      [{ ...upstream('own-secret'), apiKeyEnv: 'SESSION_SECRET' }, 'body.apiKeyEnv'],
      [{ ...upstream('own-database'), apiKeyEnv: 'DATABASE_URL' }, 'body.apiKeyEnv'],
      // Names that pass the *_KEY / *_TOKEN rule but are Argus's own secrets: test connection
      // would send the audit signing key or the metrics token to a server the admin chose.
      [{ ...upstream('own-signing-key'), apiKeyEnv: 'AUDIT_SIGNING_KEY' }, 'body.apiKeyEnv'],
      [{ ...upstream('own-metrics-token'), apiKeyEnv: 'METRICS_TOKEN' }, 'body.apiKeyEnv'],
      [{ ...upstream('future-setting'), apiKeyEnv: 'ARGUS_SOMETHING_KEY' }, 'body.apiKeyEnv'],
      [{ ...upstream('short-grant'), grantSeconds: 5 }, 'body.grantSeconds'],
      [{ ...upstream('tier'), tier: 'secret' }, 'body.tier'],
      [{ ...upstream('tokens'), maxOutputTokens: 0 }, 'body.maxOutputTokens'],
      [{ ...upstream('extra'), apiKey: 'sk-never-stored' }, 'body'],
    ];
    for (const [body, path] of cases) {
      const response = await admin.client.post<{ error: { issues: Array<{ path: string }> } }>('/api/admin/models', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(errorCode(response)).toBe('VALIDATION_FAILED');
      expect(response.body.error.issues.map((i) => i.path), JSON.stringify(body)).toContain(path);
    }
    const notJson = await admin.client.request('POST', '/api/admin/models', '{"id": ', { 'content-type': 'application/json' });
    expect(errorCode(notJson)).toBe('MALFORMED_JSON');
  });

  it('edits a model, audits before and after, and checks the change against the whole model', async () => {
    await admin.client.post('/api/admin/models', upstream('editable'));
    const edited = await admin.client.patch<{ model: AdminModelView }>('/api/admin/models/editable', { tier: 'standard', requiresUserVerification: false, maxOutputTokens: 512 });
    expect(edited.status).toBe(200);
    expect(edited.body.model).toMatchObject({ tier: 'standard', requiresUserVerification: false, maxOutputTokens: 512 });
    const event = await lastAudit(node, 'model.changed');
    // Loosening access to a model is high severity.
    expect(event).toMatchObject({ targetId: 'editable', severity: 'high' });
    expect(event!.details).toEqual({
      changes: {
        tier: { from: 'restricted', to: 'standard' },
        requiresUserVerification: { from: true, to: false },
        maxOutputTokens: { from: 256, to: 512 },
      },
    });

    // A demo model turned openai needs a base URL: the merged model is checked.
    const invalid = await admin.client.patch<{ error: { issues: Array<{ path: string }> } }>('/api/admin/models/demo-extra', { provider: 'openai' });
    expect(invalid.status).toBe(400);
    expect(errorCode(invalid)).toBe('VALIDATION_FAILED');
    expect(invalid.body.error.issues[0]!.path).toBe('body.baseUrl');
    expect(errorCode(await admin.client.patch('/api/admin/models/editable', {}))).toBe('VALIDATION_FAILED');
    expect(errorCode(await admin.client.patch('/api/admin/models/editable', { grantSeconds: '60' }))).toBe('VALIDATION_FAILED');
    expect(errorCode(await admin.client.patch('/api/admin/models/editable', { apiKeyEnv: 'SESSION_SECRET' }))).toBe('VALIDATION_FAILED');
    expect(errorCode(await admin.client.patch('/api/admin/models/editable', { apiKeyEnv: 'AUDIT_SIGNING_KEY' }))).toBe('VALIDATION_FAILED');
    expect(errorCode(await admin.client.patch('/api/admin/models/editable', { tier: 'standard' }))).toBe('CONFLICT');
    const missing = await admin.client.patch('/api/admin/models/no-such-model', { enabled: false });
    expect(missing.status).toBe(404);
    expect(errorCode(missing)).toBe('MODEL_NOT_FOUND');
    expect(errorCode(await admin.client.patch('/api/admin/models/NOT%20AN%20ID', { enabled: false }))).toBe('VALIDATION_FAILED');
  });

  it('disables and enables a model: a disabled model is gone from the chat', async () => {
    const disabled = await admin.client.patch<{ model: AdminModelView }>('/api/admin/models/demo-standard', { enabled: false });
    expect(disabled.body.model.enabled).toBe(false);
    expect(await lastAudit(node, 'model.disabled')).toMatchObject({ targetId: 'demo-standard', details: { changes: { enabled: { from: true, to: false } } } });
    expect((await user.get<ModelListResponse>('/api/models')).body.models.map((m) => m.id)).not.toContain('demo-standard');
    await admin.client.patch('/api/admin/models/demo-standard', { enabled: true });
    expect(await lastAudit(node, 'model.enabled')).toMatchObject({ targetId: 'demo-standard' });
    expect((await user.get<ModelListResponse>('/api/models')).body.models.map((m) => m.id)).toContain('demo-standard');
  });

  it('needs a fresh step-up for every change', async () => {
    await expireStepUp(node, admin.client);
    for (const response of [
      await admin.client.post('/api/admin/models', upstream('late')),
      await admin.client.patch('/api/admin/models/demo-standard', { enabled: false }),
      await admin.client.post('/api/admin/models/demo-standard/test'),
    ]) {
      expect(response.status).toBe(403);
      expect(errorCode(response)).toBe('STEP_UP_REQUIRED');
    }
    expect((await admin.client.get<AdminModelListResponse>('/api/admin/models')).body.models.find((m) => m.id === 'demo-standard')!.enabled).toBe(true);
    expect((await admin.client.get<AdminModelListResponse>('/api/admin/models')).body.models.map((m) => m.id)).not.toContain('late');
    await stepUpWith(admin.client, admin.authenticator);
    expect((await admin.client.post('/api/admin/models', upstream('late'))).status).toBe(201);
  });
});

describe('tightening a restricted model', () => {
  async function unlock(): Promise<string> {
    const options = (await user.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body.options;
    return (await user.post<GrantResponse>('/api/verify-key-ownership', { response: uma.authenticator.assert(options), presenceMode: 'assertion' })).body.grant!.id;
  }

  it('ends the live grants covering it when it is disabled or starts to require user verification, not on other changes', async () => {
    const socket = await TestSocket.open(node.url, { origin: 'http://argus.test', cookie: user.cookie });
    const first = await unlock();
    await admin.client.patch('/api/admin/models/demo-restricted', { description: 'Still the demo.', grantSeconds: 600 });
    expect((await user.get<GrantResponse>('/api/grants/current')).body.grant?.id).toBe(first);

    await admin.client.patch('/api/admin/models/demo-restricted', { requiresUserVerification: true });
    expect(await socket.next('GRANT_REVOKED')).toEqual({ type: 'GRANT_REVOKED', grantId: first, reason: 'model_changed' });
    expect((await user.get<GrantResponse>('/api/grants/current')).body.grant).toBeNull();
    await admin.client.patch('/api/admin/models/demo-restricted', { requiresUserVerification: false });

    const second = await unlock();
    await admin.client.patch('/api/admin/models/demo-restricted', { enabled: false });
    expect(await socket.next('GRANT_REVOKED')).toEqual({ type: 'GRANT_REVOKED', grantId: second, reason: 'model_changed' });
    const revoked = (await admin.client.get<AuditListResponse>('/api/audit/events?action=grant.revoked&limit=1')).body.events[0];
    expect(revoked).toMatchObject({ actorUsername: 'ada', targetId: second, details: { reason: 'model_changed' } });
    await admin.client.patch('/api/admin/models/demo-restricted', { enabled: true, grantSeconds: 300, description: 'Offline demo of a restricted model: unlocked only by your own security key.' });
    socket.close();
  });
});

describe('test connection', () => {
  it('reports ok with the latency and a sample of the reply, sending the key from the named variable', async () => {
    fake.mode = 'normal';
    fake.tokens = 3;
    const before = fake.requests.length;
    const response = await admin.client.post<ModelTestResult>('/api/admin/models/local-llama/test');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ ok: true, reply: 'tok0 tok1 tok2' });
    expect(response.body.latencyMs).toBeGreaterThanOrEqual(0);
    const sent = fake.requests[before]!;
    expect(sent.authorization).toBe('Bearer sk-admin-models-secret');
    expect(sent.body).toMatchObject({ model: 'llama3.2', stream: true, max_tokens: 8 });
    expect(await lastAudit(node, 'model.tested')).toMatchObject({ outcome: 'success', targetId: 'local-llama' });
  });

  it('reports an upstream 500 as MODEL_ERROR without passing on what the upstream said', async () => {
    fake.mode = 'error500';
    const response = await admin.client.post<ModelTestResult>('/api/admin/models/local-llama/test');
    fake.mode = 'normal';
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ ok: false, code: 'MODEL_ERROR', message: 'The model server answered with an error (HTTP 500).' });
    expect(JSON.stringify(response.body)).not.toContain('secret-upstream-detail');
    expect(await lastAudit(node, 'model.tested')).toMatchObject({ outcome: 'failure', details: { code: 'MODEL_ERROR' } });
  });

  it('reports a server that is not there as MODEL_UNREACHABLE', async () => {
    const port = await freePort();
    await admin.client.post('/api/admin/models', { ...upstream('gone'), baseUrl: `http://127.0.0.1:${port}/v1` });
    const response = await admin.client.post<ModelTestResult>('/api/admin/models/gone/test');
    expect(response.body).toMatchObject({ ok: false, code: 'MODEL_UNREACHABLE', message: 'The model server cannot be reached.' });
  });

  it('tests the built-in demo model offline, and answers 404 for a model that does not exist', async () => {
    const demo = await admin.client.post<ModelTestResult>('/api/admin/models/demo-standard/test');
    expect(demo.body).toMatchObject({ ok: true });
    const missing = await admin.client.post('/api/admin/models/nothing-here/test');
    expect(missing.status).toBe(404);
    expect(errorCode(missing)).toBe('MODEL_NOT_FOUND');
  });
});
