/**
 * The presence proof as Argus shows it (issue #25): GET /api/audit/events/:seq/proof for the audit
 * page's drawer, and the export manifest's count of proven grants. A real grant verifies; a
 * grant event an insider forged into the chain (as the database owner, hashes and all) does not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantResponse } from '../../shared/api.ts';
import type { AssertionRecord, AuditEventView, GrantProofResponse } from '../../shared/audit.ts';
import { query } from '../db/pool.ts';
import { enrollSteppedUpAdmin, enrollUser, errorCode, lastAudit, signIn, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';
import type { SoftAuthenticator } from '../test/softAuthenticator.ts';
import { recordAuditEvent } from './record.ts';
import { downloadExport } from './testing/auditTestKit.ts';

let node: TestNode;
let auditor: TestClient;
let person: Awaited<ReturnType<typeof enrollUser>>;
/** A real grant, its grant.issued event and the model.access made under it. */
let issued: AuditEventView;
let access: AuditEventView;

beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
  auditor = (await enrollUser(node, { username: 'ida', role: 'auditor' })).client;
  person = await enrollUser(node, { username: 'paz' });
  const grant = await unlock();
  issued = (await lastAudit(node, 'grant.issued'))!;
  expect(issued.targetId).toBe(grant.id);
  const chat = await fetch(`${person.client.baseUrl}/api/chat/stream`, {
    method: 'POST',
    headers: { origin: person.client.origin, 'content-type': 'application/json', cookie: person.client.cookie! },
    body: JSON.stringify({ model: 'demo-restricted', messages: [{ role: 'user', content: 'hello' }] }),
  });
  await chat.text();
  access = (await lastAudit(node, 'model.access'))!;
});
afterAll(() => node.destroy());

async function unlock({ client, authenticator }: { client: TestClient; authenticator: SoftAuthenticator } = person) {
  const { options } = (await client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body;
  const answer = await client.post<GrantResponse>('/api/verify-key-ownership', { response: authenticator.assert(options), presenceMode: 'assertion' });
  expect(answer.status).toBe(200);
  return answer.body.grant!;
}

const INSIDER = { actor: null, ip: null, userAgent: null };

/**
 * A grant event an insider appends as the database owner (the chain stays intact): the real
 * grant's details with one change, under a new grant id.
 */
async function forgeGrant(change: (details: Record<string, unknown>) => Record<string, unknown>): Promise<AuditEventView> {
  const grantId = crypto.randomUUID();
  const details = change(structuredClone(issued.details));
  return recordAuditEvent(node.ownerPool(), INSIDER, {
    action: 'grant.issued',
    outcome: 'success',
    target: { type: 'grant', id: grantId },
    details: { ...details, grantId, grant: { ...(details.grant as object), id: grantId } },
  });
}

/** One byte of the recorded signature changed. */
const badSignature = (details: Record<string, unknown>) => {
  const assertion = details.assertion as AssertionRecord;
  const signature = Buffer.from(assertion.signature, 'base64url');
  signature[signature.length - 1]! ^= 0x01;
  return { ...details, assertion: { ...assertion, signature: signature.toString('base64url') } };
};

const proofOf = (seq: number, client = auditor) => client.get<GrantProofResponse>(`/api/audit/events/${seq}/proof`);

describe('GET /api/audit/events/:seq/proof', () => {
  it("answers verified for a real grant, with the key that signed it and its registration event", async () => {
    const credentialId = person.authenticator.credentials[0]!.id.toString('base64url');
    const registration = await query<{ seq: string }>(node.deps.pool, 't', "SELECT seq FROM audit_event WHERE action = 'key.registered' AND details->'credential'->>'id' = $1", [credentialId]);
    const answer = await proofOf(issued.seq);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ grantSeq: issued.seq, grantId: issued.targetId, registrationSeq: Number(registration.rows[0]!.seq), proof: { verified: true, credentialId } });
  });

  it("follows the credential's owner history: a key reassigned to its new owner proves their grants", async () => {
    const admin = await enrollSteppedUpAdmin(node, 'amos');
    const first = await enrollUser(node, { username: 'fern', password: 'a first owner of keys' });
    const second = await enrollUser(node, { username: 'gale', password: 'a second owner of keys' });
    expect((await admin.client.post(`/api/admin/keys/${first.keyId}/reassign`, { userId: second.userId })).status).toBe(200);
    const client = await signIn(node, { username: 'gale', password: second.password, authenticator: first.authenticator });
    const grant = await unlock({ client, authenticator: first.authenticator });
    const answer = await proofOf((await lastAudit(node, 'grant.issued'))!.seq);
    expect(answer.body).toMatchObject({ grantId: grant.id, proof: { verified: true, credentialId: first.authenticator.credentials[0]!.id.toString('base64url') } });
  });

  it('answers for a restricted use by the grant it names', async () => {
    const answer = await proofOf(access.seq);
    expect(answer.body).toMatchObject({ grantSeq: issued.seq, grantId: issued.targetId, proof: { verified: true } });
  });

  it('answers NOT verified for a grant event whose signature an insider forged', async () => {
    const forged = await forgeGrant(badSignature);
    const answer = await proofOf(forged.seq);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ grantSeq: forged.seq, proof: { verified: false } });
    expect((answer.body.proof as { reason: string }).reason).toEqual(expect.any(String));
  });

  it('answers NOT verified for a grant event that records no assertion at all', async () => {
    const forged = await forgeGrant(({ assertion: _dropped, ...details }) => details);
    expect((await proofOf(forged.seq)).body.proof.verified).toBe(false);
  });

  it('answers NOT verified for a restricted use under a grant no event made', async () => {
    const grantId = crypto.randomUUID();
    const use = await recordAuditEvent(node.ownerPool(), INSIDER, { action: 'model.access', outcome: 'success', model: 'demo-restricted', target: { type: 'grant', id: grantId }, details: { grantId } });
    const answer = await proofOf(use.seq);
    expect(answer.body).toMatchObject({ grantSeq: null, grantId, registrationSeq: null, proof: { verified: false } });
  });

  it('answers 404 for an event that names no grant, or no event', async () => {
    const signin = (await lastAudit(node, 'auth.signin'))!;
    expect(errorCode(await proofOf(signin.seq))).toBe('NOT_FOUND');
    expect(errorCode(await proofOf(999_999_999))).toBe('NOT_FOUND');
    expect(errorCode(await auditor.get('/api/audit/events/abc/proof'))).toBe('VALIDATION_FAILED');
  });

  it('is for auditors and admins only', async () => {
    expect((await proofOf(issued.seq, person.client)).status).toBe(403);
  });
});

describe("the export manifest's presence count", () => {
  it('counts every grant in the export and the ones Argus proved, with registrations inside or before the range', async () => {
    // From here on: the person's registration lies before the range and must be looked up.
    const from = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await unlock(); // a renewal: a new grant from a new assertion
    await forgeGrant(badSignature);
    const ranged = await downloadExport(auditor, 'jsonl', { from });
    expect(ranged.manifest.presence).toEqual({ grants: 2, proven: 1 });

    // The whole log: every grant Argus made verifies, none an insider forged does.
    const { rows } = await query<{ made: number; forged: number }>(
      node.deps.pool,
      't',
      "SELECT count(*) FILTER (WHERE actor_id IS NOT NULL)::int AS made, count(*) FILTER (WHERE actor_id IS NULL)::int AS forged FROM audit_event WHERE action IN ('grant.issued', 'grant.renewed')",
    );
    const whole = await downloadExport(auditor, 'csv');
    expect(whole.manifest.presence).toEqual({ grants: rows[0]!.made + rows[0]!.forged, proven: rows[0]!.made });
    expect(rows[0]!.forged).toBeGreaterThan(0);
  });
});
