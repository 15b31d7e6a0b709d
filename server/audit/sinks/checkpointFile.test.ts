import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditCheckpoint } from '../../../shared/audit.ts';
import { getAuditChainHead, insertCheckpoint } from '../../db/audit.ts';
import { createLogger } from '../../log.ts';
import { useTestDatabase } from '../../test/testDatabase.ts';
import { checkpointPayload, signCheckpoint } from '../checkpoint.ts';
import { recordAuditEvent } from '../record.ts';
import { AuditSigner, verifySignature } from '../signingKey.ts';
import { createCheckpointFileTransport } from './checkpointFile.ts';
import { startAuditSinkDelivery, type AuditSinkDelivery } from './delivery.ts';
import { sinkDefinition } from './sinks.ts';

const db = useTestDatabase();
const signer = AuditSigner.fromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
const CONTEXT = { actor: null, ip: null, userAgent: null };
const log = createLogger('silent');
const running: AuditSinkDelivery[] = [];
afterEach(async () => {
  for (const delivery of running.splice(0)) await delivery.stop();
});

function start(file: string): AuditSinkDelivery {
  const delivery = startAuditSinkDelivery({
    databaseUrl: db.database.url,
    sinks: [sinkDefinition({ kind: 'checkpoint-file', path: file })],
    log,
    tuning: { pollMs: 50, busyRetryMs: 50, backoffBaseMs: 20, backoffCapMs: 100 },
  });
  running.push(delivery);
  return delivery;
}

async function appendAndSign(events: number): Promise<AuditCheckpoint> {
  for (let i = 0; i < events; i += 1) await recordAuditEvent(db.pool, CONTEXT, { action: 'model.tested', outcome: 'success', details: { i } });
  const checkpoint = signCheckpoint(signer, (await getAuditChainHead(db.pool))!);
  await insertCheckpoint(db.pool, checkpoint);
  return checkpoint;
}

const linesOf = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(0, -1) : []);

async function waitForLines(file: string, count: number): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = linesOf(file);
    if (lines.length >= count) return lines;
    if (Date.now() > deadline) throw new Error(`${file} has ${lines.length} lines, expected ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the checkpoint file', () => {
  it('gets one line per signed checkpoint, appended across restarts, each verifiable on its own', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'argus-checkpoints-')), 'checkpoints.jsonl');
    const first = await appendAndSign(3);
    const second = await appendAndSign(2);
    const delivery = start(file);
    await waitForLines(file, 2);
    await delivery.stop();
    running.splice(running.indexOf(delivery), 1);

    // A restart (new process, new transport) adds to the file; it never starts it again.
    const third = await appendAndSign(4);
    start(file);
    const lines = await waitForLines(file, 3);
    await new Promise((resolve) => setTimeout(resolve, 200)); // nothing more, nothing repeated
    expect(linesOf(file)).toHaveLength(3);

    const signed = [first, second, third];
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(signed.map((checkpoint) => ({ type: 'argus.audit.checkpoint', ...checkpoint })));
    for (const line of lines) {
      const checkpoint = JSON.parse(line) as AuditCheckpoint;
      expect(verifySignature(signer.publicKey, checkpointPayload(checkpoint), checkpoint.signature)).toBe(true);
    }
  });

  it('writes checkpoints only, after what the file already holds', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'argus-checkpoints-')), 'checkpoints.jsonl');
    const transport = createCheckpointFileTransport({ path: file });
    await transport.deliver([{ kind: 'checkpoint', seq: 1, time: '2026-03-01T10:00:00.000Z', severity: 'info', body: '{"seq":1}' }]);
    await transport.deliver([
      { kind: 'event', seq: 2, time: '2026-03-01T10:00:00.000Z', severity: 'info', body: '{"event":2}' },
      { kind: 'checkpoint', seq: 2, time: '2026-03-01T10:00:01.000Z', severity: 'info', body: '{"seq":2}' },
    ]);
    await transport.deliver([{ kind: 'event', seq: 3, time: '2026-03-01T10:00:00.000Z', severity: 'info', body: '{"event":3}' }]);
    expect(readFileSync(file, 'utf8')).toBe('{"seq":1}\n{"seq":2}\n');
  });
});
