/**
 * The whole syslog path against a real rsyslog over TLS: the operator's variables, the
 * delivery's cursor and ordering, the syslog transport, rsyslog's parse of what arrived.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { getAuditChainHead, insertCheckpoint, listAuditEventsAscending } from '../../db/audit.ts';
import { createLogger } from '../../log.ts';
import { useTestDatabase } from '../../test/testDatabase.ts';
import { signCheckpoint } from '../checkpoint.ts';
import { EXPORT_WRITERS } from '../export/formats.ts';
import { recordAuditEvent } from '../record.ts';
import { AuditSigner } from '../signingKey.ts';
import { startAuditSinkDelivery, type AuditSinkDelivery } from './delivery.ts';
import { checkpointRecord } from './records.ts';
import { AUDIT_SINK_ENV, auditSinksFromEnv } from './sinkConfig.ts';
import { sinkDefinition } from './sinks.ts';
import { startTestRsyslog, type TestRsyslog } from './testing/rsyslog.ts';

const db = useTestDatabase();
const signer = AuditSigner.fromPem(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
let rsyslog: TestRsyslog;
let delivery: AuditSinkDelivery | null = null;

beforeAll(async () => {
  rsyslog = await startTestRsyslog();
});
afterAll(async () => {
  await delivery?.stop();
  await rsyslog?.stop();
});

describe('streaming to rsyslog over TLS', () => {
  it('delivers every event and checkpoint as CEF, in order, each carrying its seq', async () => {
    const caFile = path.join(mkdtempSync(path.join(tmpdir(), 'argus-syslog-ca-')), 'ca.pem');
    writeFileSync(caFile, rsyslog.caPem);
    const env = z.object(AUDIT_SINK_ENV).parse({ AUDIT_SINK_SYSLOG_URL: `tls://localhost:${rsyslog.port}`, AUDIT_SINK_SYSLOG_CA_FILE: caFile, AUDIT_SINK_SYSLOG_FORMAT: 'cef' });
    const [sink] = auditSinksFromEnv(env, (message) => new Error(message));

    for (let i = 0; i < 12; i += 1) {
      await recordAuditEvent(db.pool, { actor: null, ip: '10.0.0.9', userAgent: 'test' }, { action: 'auth.signin_failed', outcome: 'failure', details: { reason: 'bad_password', text: `a|b=c\\d\n${i}` } });
    }
    const checkpoint = signCheckpoint(signer, (await getAuditChainHead(db.pool))!);
    await insertCheckpoint(db.pool, checkpoint);
    delivery = startAuditSinkDelivery({ databaseUrl: db.database.url, sinks: [sinkDefinition(sink!)], log: createLogger('silent'), tuning: { maxBatchRecords: 5, pollMs: 50 } });

    const messages = await rsyslog.waitForMessages(13);
    const events = await listAuditEventsAscending(db.pool, 0, 100);
    const expected = [...events.map((event) => EXPORT_WRITERS.cef.record(event).replace(/\n$/, '')), checkpointRecord(checkpoint, 'cef').body];
    expect(messages.map((message) => message.msg)).toEqual(expected);
    expect(messages.map((message) => message.structuredData)).toEqual([
      ...events.map((event) => `[argus@32473 seq="${event.seq}" kind="event"]`),
      `[argus@32473 seq="${checkpoint.seq}" kind="checkpoint"]`,
    ]);
    expect(messages.map((message) => message.msgId)).toEqual([...events.map(() => 'audit'), 'checkpoint']);
  });
});
