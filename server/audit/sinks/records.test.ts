import { describe, expect, it } from 'vitest';
import type { AuditCheckpoint, AuditEventView } from '../../../shared/audit.ts';
import { EXPORT_WRITERS, eventJson } from '../export/formats.ts';
import { toOcsf } from '../export/ocsf.ts';
import { orderBatch, sinkErrorMessage } from './delivery.ts';
import { checkpointLine, checkpointRecord, eventRecord } from './records.ts';

const event = (seq: number, details: Record<string, unknown> = {}): AuditEventView => ({
  seq,
  time: `2026-03-01T10:00:${String(seq % 60).padStart(2, '0')}.000Z`,
  actorId: null,
  actorUsername: 'alice',
  action: 'auth.signin',
  targetType: null,
  targetId: null,
  outcome: 'success',
  severity: 'info',
  ip: '10.0.0.1',
  userAgent: 'test',
  model: null,
  details,
  prevHash: '0'.repeat(64),
  hash: seq.toString(16).padStart(64, 'a'),
});

const checkpoint = (id: number, seq: number): AuditCheckpoint & { id: number } => ({
  id,
  seq,
  hash: seq.toString(16).padStart(64, 'a'),
  time: '2026-03-01T10:05:00.000Z',
  keyFingerprint: 'f'.repeat(64),
  signature: 'c2lnbmF0dXJl+/A==',
});

const order = (placed: ReturnType<typeof orderBatch>) => placed.map((item) => (item.kind === 'event' ? `e${item.event.seq}` : `c${item.checkpoint.seq}`));

describe('orderBatch', () => {
  it('puts the checkpoint for seq N right after event N', () => {
    const placed = orderBatch({ events: [event(1), event(2), event(3), event(4)], checkpoints: [checkpoint(1, 2), checkpoint(2, 4)], deliveredSeq: 0, checkpointsOnly: false });
    expect(order(placed)).toEqual(['e1', 'e2', 'c2', 'e3', 'e4', 'c4']);
  });

  it('sends first a checkpoint that was committed after its events were delivered', () => {
    // The timer signed seq 5 while a batch up to 7 was out: the checkpoint comes before event 8.
    const placed = orderBatch({ events: [event(8), event(9)], checkpoints: [checkpoint(3, 5)], deliveredSeq: 7, checkpointsOnly: false });
    expect(order(placed)).toEqual(['c5', 'e8', 'e9']);
  });

  it('holds back a checkpoint whose event is not in this batch, and every checkpoint after it', () => {
    const placed = orderBatch({ events: [event(1), event(2)], checkpoints: [checkpoint(1, 3), checkpoint(2, 2)], deliveredSeq: 0, checkpointsOnly: false });
    // Checkpoint ids are a watermark: id 2 cannot go before id 1.
    expect(order(placed)).toEqual(['e1', 'e2']);
  });

  it('gives a checkpoint-only sink every checkpoint, without events', () => {
    const placed = orderBatch({ events: [], checkpoints: [checkpoint(1, 10), checkpoint(2, 20)], deliveredSeq: 0, checkpointsOnly: true });
    expect(order(placed)).toEqual(['c10', 'c20']);
  });
});

describe('sink records', () => {
  const hostile = event(7, { text: 'line\nbreak\u2028sep "quoted" =equals| pipe' });

  it('writes an event with the export writers, one line each', () => {
    expect(eventRecord(hostile, 'jsonl')).toEqual({ kind: 'event', seq: 7, time: hostile.time, severity: 'info', body: eventJson(hostile) });
    expect(eventRecord(hostile, 'ocsf').body).toBe(JSON.stringify(toOcsf(hostile)));
    const cef = eventRecord(hostile, 'cef').body;
    expect(`${cef}\n`).toBe(EXPORT_WRITERS.cef.record(hostile));
    for (const format of ['jsonl', 'ocsf', 'cef'] as const) expect(eventRecord(hostile, format).body).not.toMatch(/[\r\n]/);
  });

  it('writes a checkpoint as exactly its signed members plus its type', () => {
    const { id: _id, ...signed } = checkpoint(1, 42);
    const line = checkpointLine(signed);
    expect(Object.keys(JSON.parse(line) as object).sort()).toEqual(['hash', 'keyFingerprint', 'seq', 'signature', 'time', 'type']);
    expect(JSON.parse(line)).toEqual({ ...signed, type: 'argus.audit.checkpoint' });
    expect(checkpointRecord(signed, 'jsonl')).toMatchObject({ kind: 'checkpoint', seq: 42, body: line });
    expect(checkpointRecord(signed, 'ocsf').body).toBe(line);
  });

  it('escapes the = of a base64 signature in a CEF checkpoint', () => {
    const body = checkpointRecord(checkpoint(1, 42), 'cef').body;
    expect(body).toMatch(/^CEF:0\|Argus\|Argus\|[^|]+\|audit\.checkpoint\|/);
    expect(body).toContain('cs3=c2lnbmF0dXJl+/A\\=\\=');
    expect(body).toContain('externalId=42');
  });
});

describe('sinkErrorMessage', () => {
  it('removes the sink secrets and line breaks from what is stored and logged', () => {
    const message = sinkErrorMessage(new Error('HTTP 401: token s3cr3t-t0ken-value-123 refused\nat line 2'), ['s3cr3t-t0ken-value-123']);
    expect(message).toBe('HTTP 401: token [redacted] refused at line 2');
  });
});
