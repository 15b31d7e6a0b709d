import { describe, expect, it } from 'vitest';
import { getAuditEvent } from '../db/audit.ts';
import { useTestDatabase } from '../test/testDatabase.ts';
import { recordAuditEvent, SYSTEM_CONTEXT } from './record.ts';
import { verifyAuditChain } from './verify.ts';

const db = useTestDatabase();

describe('what an audit event keeps of long text', () => {
  it('cuts ordinary details at 512 characters, but keeps signature data whole so it still verifies', async () => {
    const long = 'x'.repeat(1_500);
    const signatureData = 'A'.repeat(1_500);
    const event = await recordAuditEvent(db.pool, SYSTEM_CONTEXT, {
      action: 'auth.step_up',
      outcome: 'success',
      details: { note: long, assertion: { clientDataJSON: signatureData }, credential: { publicKey: signatureData } },
    });
    const stored = await getAuditEvent(db.pool, event.seq);
    expect((stored!.details.note as string).length).toBe(512);
    expect(stored!.details.assertion).toEqual({ clientDataJSON: signatureData });
    expect(stored!.details.credential).toEqual({ publicKey: signatureData });
    expect((await verifyAuditChain(db.pool)).intact).toBe(true);
  });
});
