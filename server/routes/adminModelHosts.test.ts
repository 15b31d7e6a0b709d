import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminModelListResponse, ModelTestResult } from '../../shared/api.ts';
import { query } from '../db/pool.ts';
import { enrollUser, errorCode, lastAudit, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';
import { FakeOpenAI } from '../test/fakeOpenAI.ts';

/**
 * Model URLs cannot reach inside (threat model G8): the admin API refuses them when they are
 * saved, and every connection to a model server is checked again on the address it is made to.
 */

let strict: TestNode;
let fake: FakeOpenAI;
let port: number;
let admin: TestClient;

beforeAll(async () => {
  // No MODEL_HOST_ALLOWLIST at all (the harness allows the fake model servers' 127.0.0.1 by default).
  strict = await startTestNode({ MODEL_HOST_ALLOWLIST: '', SIGNIN_RATE_PER_MINUTE: '1000' });
  fake = await FakeOpenAI.start();
  port = Number(new URL(fake.baseUrl).port);
  admin = (await enrollUser(strict, { username: 'hana', role: 'admin' })).client;
});
afterAll(async () => {
  await fake.stop();
  await strict.destroy();
});

const upstream = (id: string, baseUrl: string) => ({ id, displayName: `Upstream ${id}`, provider: 'openai', baseUrl, upstreamModel: 'llama3.2' });

const INSIDE = [
  'http://127.0.0.1:11434/v1',
  'http://169.254.169.254/latest',
  'http://[::1]:11434/v1',
  'http://10.1.2.3/v1',
  'http://[::ffff:127.0.0.1]/v1',
  'http://2130706433/v1',
  'http://0x7f.1/v1',
  'http://localhost:11434/v1',
];

async function modelIds(): Promise<string[]> {
  return (await admin.get<AdminModelListResponse>('/api/admin/models')).body.models.map((model) => model.id);
}

/** A model row written straight to the database: one saved before the rule, or whose name now resolves inside. */
async function storeModel(id: string, baseUrl: string): Promise<void> {
  await query(strict.deps.pool, 't', `INSERT INTO model (id, display_name, provider, base_url, upstream_model, tier) VALUES ($1, $1, 'openai', $2, 'llama3.2', 'standard')`, [id, baseUrl]);
}

describe('model base URLs inside the network Argus runs in', () => {
  it('are refused when a model is added: 400 MODEL_HOST_FORBIDDEN on the base URL, naming MODEL_HOST_ALLOWLIST', async () => {
    for (const [index, baseUrl] of INSIDE.entries()) {
      const response = await admin.post<{ error: { message: string; issues: Array<{ path: string }> } }>('/api/admin/models', upstream(`inside-${index}`, baseUrl));
      expect(response.status, baseUrl).toBe(400);
      expect(errorCode(response), baseUrl).toBe('MODEL_HOST_FORBIDDEN');
      expect(response.body.error.message, baseUrl).toMatch(/MODEL_HOST_ALLOWLIST/);
      expect(response.body.error.issues.map((issue) => issue.path)).toEqual(['body.baseUrl']);
    }
    expect(await modelIds()).toEqual(['demo-restricted', 'demo-standard']);
    // An address outside goes through.
    expect((await admin.post('/api/admin/models', upstream('outside', 'https://203.0.113.10/v1'))).status).toBe(201);
  });

  it('are refused when a model is changed to one, and the model keeps its address', async () => {
    for (const baseUrl of INSIDE) {
      const response = await admin.patch('/api/admin/models/outside', { baseUrl });
      expect(response.status, baseUrl).toBe(400);
      expect(errorCode(response), baseUrl).toBe('MODEL_HOST_FORBIDDEN');
    }
    const outside = (await admin.get<AdminModelListResponse>('/api/admin/models')).body.models.find((model) => model.id === 'outside');
    expect(outside?.baseUrl).toBe('https://203.0.113.10/v1');
    // Other settings of a model still change without its address being looked at again.
    expect((await admin.patch('/api/admin/models/outside', { description: 'Outside.' })).status).toBe(200);
  });

  it('are refused at connect time by Test connection, whatever was stored, and the refusal is audited', async () => {
    await storeModel('stored-loopback', fake.baseUrl);
    await storeModel('stored-localhost', `http://localhost:${port}/v1`);
    for (const id of ['stored-loopback', 'stored-localhost']) {
      const before = fake.requests.length;
      const response = await admin.post<ModelTestResult>(`/api/admin/models/${id}/test`);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ ok: false, code: 'MODEL_HOST_FORBIDDEN' });
      expect(fake.requests.length, id).toBe(before);
      expect(await lastAudit(strict, 'model.tested')).toMatchObject({
        targetId: id,
        outcome: 'failure',
        details: { code: 'MODEL_HOST_FORBIDDEN', refused: { range: 'loopback' } },
      });
    }
  });

  it('are refused at connect time when a chat streams from one', async () => {
    const before = fake.requests.length;
    const response = await fetch(`${admin.baseUrl}/api/chat/stream`, {
      method: 'POST',
      headers: { origin: admin.origin, 'content-type': 'application/json', cookie: admin.cookie! },
      body: JSON.stringify({ model: 'stored-loopback', messages: [{ role: 'user', content: 'hello' }] }),
    });
    const text = await response.text();
    expect(text).toContain('"code":"MODEL_HOST_FORBIDDEN"');
    expect(text).not.toContain('127.0.0.1');
    expect(fake.requests.length).toBe(before);
  });
});

describe('MODEL_HOST_ALLOWLIST', () => {
  it('lets an admin add, test and chat with a local model server it names (a local Ollama)', async () => {
    const allowing = await startTestNode({ MODEL_HOST_ALLOWLIST: 'localhost', SIGNIN_RATE_PER_MINUTE: '1000' });
    try {
      const ada = (await enrollUser(allowing, { username: 'ada', role: 'admin' })).client;
      expect((await ada.post('/api/admin/models', upstream('local-ollama', `http://localhost:${port}/v1`))).status).toBe(201);
      // Only the name it names: the same server by address is still inside.
      expect(errorCode(await ada.post('/api/admin/models', upstream('by-address', fake.baseUrl)))).toBe('MODEL_HOST_FORBIDDEN');
      fake.mode = 'normal';
      expect((await ada.post<ModelTestResult>('/api/admin/models/local-ollama/test')).body).toMatchObject({ ok: true, reply: expect.stringMatching(/^tok0 tok1/) });
      const response = await fetch(`${ada.baseUrl}/api/chat/stream`, {
        method: 'POST',
        headers: { origin: ada.origin, 'content-type': 'application/json', cookie: ada.cookie! },
        body: JSON.stringify({ model: 'local-ollama', messages: [{ role: 'user', content: 'hello' }] }),
      });
      expect(await response.text()).toContain('"type":"done"');
    } finally {
      await allowing.destroy();
    }
  });
});
