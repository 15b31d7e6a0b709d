/**
 * Round trip through a real Argus node: what the server records when a user enrolls a key
 * (software authenticator), signs in, steps up, unlocks restricted models, renews, chats and
 * signs out is proven, offline, by the presence check — and a grant event an insider appends to
 * that same chain is not. This holds the server's records (docs/presence-proofs.md, "Recorded
 * fields") and the verifier to one contract.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantResponse } from '../../../shared/api.ts';
import type { AuditEventView } from '../../../shared/audit.ts';
import { enrollUser, lastAudit, signIn, startTestNode, stepUpWith, type TestClient, type TestNode } from '../../test/harness.ts';
import type { SoftAuthenticator } from '../../test/softAuthenticator.ts';
import { recordAuditEvent } from '../record.ts';
import { databaseEvents } from './databaseEvents.ts';
import { verifyPresence } from './verifyPresence.ts';

let node: TestNode;
beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
});
afterAll(() => node.destroy());

async function unlock(client: TestClient, authenticator: SoftAuthenticator): Promise<GrantResponse['grant']> {
  const { options } = (await client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body;
  const answer = await client.post<GrantResponse>('/api/verify-key-ownership', { response: authenticator.assert(options), presenceMode: 'assertion' });
  expect(answer.status).toBe(200);
  return answer.body.grant;
}

async function chat(client: TestClient, model: string): Promise<void> {
  const response = await fetch(`${client.baseUrl}/api/chat/stream`, {
    method: 'POST',
    headers: { origin: client.origin, 'content-type': 'application/json', cookie: client.cookie! },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
  });
  expect(response.status).toBe(200);
  await response.text();
}

describe('what a real node records is proven offline', () => {
  it('step-up, two grants (the second a renewal), restricted answers, sign-out, sign-in and a third grant: every proof holds', async () => {
    const person = await enrollUser(node, { username: 'rosa' });
    await stepUpWith(person.client, person.authenticator);
    await unlock(person.client, person.authenticator);
    await chat(person.client, 'demo-restricted');
    await unlock(person.client, person.authenticator);
    await chat(person.client, 'demo-restricted');
    await person.client.post('/api/auth/signout');
    const again = await signIn(node, { username: 'rosa', password: person.password, authenticator: person.authenticator });
    await unlock(again, person.authenticator);
    await chat(again, 'demo-restricted');

    const report = await verifyPresence(databaseEvents(node.deps.pool));
    expect(report.problems).toEqual([]);
    expect(report.grants).toEqual({ total: 3, proven: 3 });
    expect(report.uses).toEqual({ total: 3, proven: 3, onClaimedRenewal: 0 });
    // The step-up and the second sign-in's key step.
    expect(report.assertions).toEqual({ total: 2, verified: 2 });
  });

  it('a grant event an insider appends to the same chain, with a real grant’s signature, is not', async () => {
    const issued = (await lastAudit(node, 'grant.issued')) as AuditEventView;
    const grantId = randomUUID();
    const forged = await recordAuditEvent(
      node.ownerPool(),
      { actor: { id: issued.actorId!, username: issued.actorUsername! }, ip: null, userAgent: null },
      {
        action: 'grant.issued',
        outcome: 'success',
        target: { type: 'grant', id: grantId },
        // The real grant's details, replayed under a new id, a moment later.
        details: { ...issued.details, grantId, grant: { ...(issued.details.grant as object), id: grantId, issuedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString() } },
      },
    );
    const report = await verifyPresence(databaseEvents(node.deps.pool));
    expect(report.problems.filter((p) => p.seq === forged.seq).map((p) => p.reason)).toEqual(['challenge_reused', 'counter_not_increased']);
  });
});
