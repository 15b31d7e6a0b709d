import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, type AuditEventView } from '../../../shared/audit.ts';
import { EXPORT_WRITERS } from './formats.ts';
import { ocsfJson, ocsfLine, toOcsf } from './ocsf.ts';
import { ADDED_SINCE_PIN, ocsfEverySample, ocsfGoldenSamples } from './ocsfSamples.ts';

/**
 * ocsf.golden.jsonl: the records the implementation before the text builder's rewrite (commit
 * 862e0b4) wrote for ocsfGoldenSamples(), one per line, unchanged since. Conversation reads were
 * API Activity "Other" (99) then and are "Read" (2) now: the only difference allowed.
 */
const golden = readFileSync(new URL('./ocsf.golden.jsonl', import.meta.url), 'utf8').split('\n').slice(0, -1);
const conversationNowRead = (line: string) => line.replace('{"activity_id":99,', '{"activity_id":2,').replace(',"type_uid":600399,', ',"type_uid":600302,');

/**
 * The SHA-256 of that implementation's records for ocsfEverySample() without conversation reads,
 * each followed by a newline. Actions added since the pin (ADDED_SINCE_PIN, sampled last) are
 * left out of it, and checked below against the class their records take.
 */
const EVERY_SAMPLE_SHA256 = '0e91e5764917f7b08d9f85b100574c8aee0b530c98d6bc7a2ec26b110ca14140';

describe('OCSF records, byte for byte', () => {
  it('writes the pinned bytes for every shape of event in each class', () => {
    const samples = ocsfGoldenSamples();
    expect(golden).toHaveLength(samples.length);
    samples.forEach((event, i) => {
      const expected = event.action.startsWith('conversation.') ? conversationNowRead(golden[i]!) : golden[i]!;
      expect(ocsfJson(event), `line ${i + 1}: ${event.action}`).toBe(expected);
      expect(JSON.stringify(toOcsf(event)), `line ${i + 1}: ${event.action}`).toBe(expected);
      expect(EXPORT_WRITERS.ocsf.record(event)).toBe(`${expected}\n`);
    });
  });

  it('writes the pinned bytes for every action with every shape', () => {
    const fast = createHash('sha256');
    const lines = createHash('sha256');
    const general = createHash('sha256');
    let count = 0;
    for (const event of ocsfEverySample()) {
      if (event.action.startsWith('conversation.')) continue;
      if (event.action in ADDED_SINCE_PIN) {
        expect(toOcsf(event).class_uid, event.action).toBe(ADDED_SINCE_PIN[event.action]);
        continue;
      }
      fast.update(`${ocsfJson(event)}\n`);
      lines.update(ocsfLine(event));
      general.update(`${JSON.stringify(toOcsf(event))}\n`);
      count += 1;
    }
    expect(count).toBeGreaterThan(1_000);
    expect(fast.digest('hex')).toBe(EVERY_SAMPLE_SHA256);
    expect(lines.digest('hex')).toBe(EVERY_SAMPLE_SHA256);
    expect(general.digest('hex')).toBe(EVERY_SAMPLE_SHA256);
  });

  it('writes the same bytes as JSON.stringify(toOcsf(event)) whatever came before it (nothing remembered leaks into the next record)', () => {
    const samples = [...ocsfEverySample()];
    // Backwards, and each event twice with a different one in between: the remembered actor,
    // minute, hash and user agent are the previous event's in every combination.
    for (let i = samples.length - 1; i > 0; i -= 1) {
      for (const event of [samples[i]!, samples[i - 1]!, samples[i]!]) {
        expect(ocsfJson(event)).toBe(JSON.stringify(toOcsf(event)));
        expect(ocsfLine(event)).toBe(`${JSON.stringify(toOcsf(event))}\n`);
      }
    }
  });

  it('parses as JSON with the pinned members for a hostile event', () => {
    const hostile = ocsfGoldenSamples().find((event) => event.actorUsername?.includes('名前'))!;
    const record = JSON.parse(ocsfJson(hostile)) as { actor: { user: { name: string } }; unmapped: { argus: AuditEventView & { target_id: string } } };
    expect(record.actor.user.name).toBe(hostile.actorUsername);
    expect(record.unmapped.argus.details).toEqual(JSON.parse(JSON.stringify(hostile.details)));
    expect(record.unmapped.argus.target_id).toBe(hostile.targetId);
  });
});

describe('OCSF classes of conversation reads', () => {
  /** As server/routes/conversations.ts records them: the conversation as target, its model, the grant in the details. */
  const read: AuditEventView = {
    seq: 7,
    time: '2026-12-01T09:30:00.000Z',
    actorId: '00000000-0000-4000-8000-000000000001',
    actorUsername: 'ada',
    action: 'conversation.read',
    targetType: 'conversation',
    targetId: '00000000-0000-4000-8000-00000000c0de',
    outcome: 'success',
    severity: 'low',
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0',
    model: 'restricted-demo',
    details: { grantId: 'g-1' },
    prevHash: 'a'.repeat(64),
    hash: 'b'.repeat(64),
  };

  it('exports a covered read as API Activity: Read, succeeded', () => {
    const ocsf = toOcsf(read);
    expect(ocsf).toMatchObject({ class_uid: 6003, category_uid: 6, activity_id: 2, type_uid: 600302, status_id: 1, api: { operation: 'conversation.read' } });
    expect(ocsf.unmapped).toMatchObject({ argus: { target_type: 'conversation', target_id: read.targetId, model: 'restricted-demo' } });
    expect(ocsfJson(read)).toBe(JSON.stringify(ocsf));
  });

  it('exports a refused read as the same activity, failed, with the outcome as the status detail', () => {
    const denied = { ...read, action: 'conversation.read_denied', outcome: 'denied' as const, severity: 'medium' as const, details: { reason: 'no_grant' } };
    expect(toOcsf(denied)).toMatchObject({ class_uid: 6003, activity_id: 2, type_uid: 600302, status_id: 2, status: 'Failure', status_detail: 'denied' });
    expect(ocsfJson(denied)).toBe(JSON.stringify(toOcsf(denied)));
  });

  it('gives every conversation action of the taxonomy an activity of its own, not Other', () => {
    const conversationActions = Object.keys(AUDIT_ACTIONS).filter((action) => action.startsWith('conversation.'));
    expect(conversationActions.length).toBeGreaterThan(0);
    for (const action of conversationActions) expect(toOcsf({ ...read, action }).activity_id, action).not.toBe(99);
  });
});
