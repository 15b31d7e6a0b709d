import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditSinkListResponse } from '../../shared/auditSinks.ts';
import { startHttpReceiver, type TestHttpReceiver } from '../audit/sinks/testing/httpReceiver.ts';
import { getAuditChainHead } from '../db/audit.ts';
import { enrollUser, errorCode, startSiblingNode, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';

const TOKEN = 'route-test-token-6e2b9c4d-1f7a-4b3e-8d5c-0a9e7f3b2c61';
let collector: TestHttpReceiver;
let node: TestNode;
let sibling: TestNode;
let auditor: TestClient;
let checkpointFile: string;

beforeAll(async () => {
  collector = await startHttpReceiver({ token: TOKEN });
  checkpointFile = path.join(mkdtempSync(path.join(tmpdir(), 'argus-route-sinks-')), 'checkpoints.jsonl');
  const env = {
    SIGNIN_RATE_PER_MINUTE: '1000',
    AUDIT_SINK_HTTP_URL: `${collector.url}?channel=secret-channel`,
    AUDIT_SINK_HTTP_TOKEN: TOKEN,
    AUDIT_CHECKPOINT_FILE: checkpointFile,
  };
  node = await startTestNode(env);
  // A second node behind the same load balancer, streaming the same sinks.
  sibling = await startSiblingNode(node, env);
  auditor = (await enrollUser(node, { username: 'otto', role: 'auditor' })).client;
});
afterAll(async () => {
  await sibling?.destroy();
  await node?.destroy();
  await collector?.halt();
});

describe('GET /api/audit/sinks', () => {
  it("shows auditors each sink's state and lag, without its token or URL path", async () => {
    const head = (await getAuditChainHead(node.deps.pool))!.seq;
    const deadline = Date.now() + 10_000;
    let body: AuditSinkListResponse;
    do {
      const response = await auditor.get<AuditSinkListResponse>('/api/audit/sinks');
      expect(response.status).toBe(200);
      body = response.body;
      if (body.sinks[0]!.lastDeliveredSeq >= head) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } while (Date.now() < deadline);
    expect(body.sinks).toEqual([
      expect.objectContaining({ id: 'http', kind: 'http', target: `127.0.0.1:${collector.port}`, format: 'ndjson (jsonl)', state: 'delivering', consecutiveFailures: 0, lastError: null }),
      expect.objectContaining({ id: 'checkpoint-file', kind: 'checkpoint-file', target: checkpointFile, format: 'jsonl', state: 'delivering', lagEvents: 0 }),
    ]);
    expect(body.sinks[0]!.lastDeliveredSeq).toBeGreaterThanOrEqual(head);
    const text = JSON.stringify(body);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('secret-channel');
  });

  it('has two nodes deliver the same sink one at a time, each event once', async () => {
    for (let i = 0; i < 3; i += 1) await enrollUser(node, { username: `user${i}`, role: 'user' });
    const head = (await getAuditChainHead(node.deps.pool))!.seq;
    const deadline = Date.now() + 10_000;
    const seqs = () => collector.accepted().map((record) => record.seq as number);
    while (!seqs().includes(head) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seqs()).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    expect(collector.maxConcurrent).toBe(1);
  });

  it('is for auditors and admins only', async () => {
    const user = (await enrollUser(node, { username: 'uma', role: 'user' })).client;
    const response = await user.get('/api/audit/sinks');
    expect(response.status).toBe(403);
    expect(errorCode(response)).toBe('FORBIDDEN');
    expect((await node.client().get('/api/audit/sinks')).status).toBe(401);
  });
});
