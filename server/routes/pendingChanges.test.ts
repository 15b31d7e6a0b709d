import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AdminModelView,
  CreateUserResponse,
  GrantResponse,
  PendingChangeListResponse,
  PendingChangeResponse,
  PendingEnrollmentLinkResponse,
  PublicUser,
  SessionResponse,
} from '../../shared/api.ts';
import type { AuditEventView } from '../../shared/audit.ts';
import { loadConfig } from '../config.ts';
import { searchAuditEvents } from '../db/audit.ts';
import { query } from '../db/pool.ts';
import { FakeOpenAI } from '../test/fakeOpenAI.ts';
import {
  createEnrollee,
  enrollSteppedUpAdmin,
  enrollUser,
  errorCode,
  expireStepUp,
  lastAudit,
  sessionIdOf,
  startSiblingNode,
  startTestNode,
  stepUpWith,
  tokenOf,
  type TestClient,
  type TestNode,
} from '../test/harness.ts';
import type { SoftAuthenticator } from '../test/softAuthenticator.ts';

/*
 * The two-person rule (threat model G9), through HTTP against real Postgres and Redis: a
 * promotion to admin, a recovery link for an enrolled user, and a new model endpoint each wait
 * for a second admin, who approves with a fresh step-up; each guard has the test that fails
 * without it.
 */

type Admin = Awaited<ReturnType<typeof enrollSteppedUpAdmin>>;

let node: TestNode;
let ada: Admin;
let bob: Admin;
let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await FakeOpenAI.start();
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000', ROUTE_RATE_LIMIT_FACTOR: '100' });
  ada = await enrollSteppedUpAdmin(node, 'ada');
  bob = await enrollSteppedUpAdmin(node, 'bob');
});
afterAll(async () => {
  await node?.destroy();
  await fake?.stop();
});

const approve = (client: TestClient, id: string) => client.post<PendingChangeResponse>(`/api/admin/pending-changes/${id}/approve`);
const reject = (client: TestClient, id: string) => client.post<PendingChangeResponse>(`/api/admin/pending-changes/${id}/reject`);
const cancel = (client: TestClient, id: string) => client.post<PendingChangeResponse>(`/api/admin/pending-changes/${id}/cancel`);

/** Asks for `target`'s promotion as `requester`: the answer must be a pending change. */
async function askPromotion(requester: TestClient, targetId: string): Promise<string> {
  const asked = await requester.patch<PendingChangeResponse>(`/api/admin/users/${targetId}`, { role: 'admin' });
  expect(asked.status, JSON.stringify(asked.body)).toBe(202);
  return asked.body.pendingChange.id;
}

async function roleOf(userId: string): Promise<string> {
  const { rows } = await query<{ role: string }>(node.deps.pool, 't', 'SELECT role FROM app_user WHERE id = $1::uuid', [userId]);
  return rows[0]!.role;
}

/** The audit events written after `afterSeq`, oldest first. */
async function eventsAfter(afterSeq: number): Promise<AuditEventView[]> {
  return (await searchAuditEvents(node.deps.pool, {}, { limit: 100 })).filter((event) => event.seq > afterSeq).reverse();
}

async function headSeq(): Promise<number> {
  const { rows } = await query<{ seq: number | null }>(node.deps.pool, 't', 'SELECT max(seq)::int AS seq FROM audit_event');
  return rows[0]!.seq ?? 0;
}

/** Moves a pending change's whole life 25 hours back: it was asked yesterday and ran out an hour ago. */
async function ageBeyondExpiry(id: string): Promise<void> {
  await query(
    node.deps.pool,
    't',
    `UPDATE pending_admin_change SET requested_at = requested_at - interval '25 hours', expires_at = expires_at - interval '25 hours' WHERE id = $1::uuid`,
    [id],
  );
}

async function unlock(client: TestClient, authenticator: SoftAuthenticator): Promise<string> {
  const { options } = (await client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body;
  const unlocked = await client.post<GrantResponse>('/api/verify-key-ownership', { response: authenticator.assert(options), presenceMode: 'assertion' });
  expect(unlocked.status).toBe(200);
  return unlocked.body.grant!.id;
}

describe('a promotion to admin while another admin can approve', () => {
  it('waits as a pending change (202): nothing changes, and the request is audited and listed for both admins', async () => {
    const target = await enrollUser(node, { username: 'cleo' });
    const before = await headSeq();
    const asked = await ada.client.patch<PendingChangeResponse>(`/api/admin/users/${target.userId}`, { role: 'admin' });
    expect(asked.status).toBe(202);
    expect(asked.body.pendingChange).toMatchObject({
      kind: 'promote_admin',
      status: 'pending',
      target: { type: 'user', id: target.userId, username: 'cleo', role: 'user' },
      change: { role: 'admin' },
      requestedBy: { username: 'ada' },
      decidedBy: null,
    });
    const hours = (Date.parse(asked.body.pendingChange.expiresAt) - Date.parse(asked.body.pendingChange.requestedAt)) / 3_600_000;
    expect(hours).toBe(24);
    expect(await roleOf(target.userId)).toBe('user');
    expect((await target.client.get<SessionResponse>('/api/session')).body).toMatchObject({ signedIn: true });
    const events = await eventsAfter(before);
    expect(events.map((event) => event.action)).toEqual(['pending_change.requested']);
    expect(events[0]).toMatchObject({ actorUsername: 'ada', targetId: target.userId, details: { kind: 'promote_admin', change: { role: 'admin' }, username: 'cleo' } });
    for (const admin of [ada, bob]) {
      const listed = await admin.client.get<PendingChangeListResponse>('/api/admin/pending-changes');
      expect(listed.body.pendingChanges.map((change) => change.id)).toContain(asked.body.pendingChange.id);
    }
    // A second request for the same promotion waits for the first to be decided.
    expect(errorCode(await bob.client.patch(`/api/admin/users/${target.userId}`, { role: 'admin' }))).toBe('CONFLICT');
    expect((await cancel(ada.client, asked.body.pendingChange.id)).status).toBe(200);
  });

  it('cannot be approved by its requester: 403 SELF_APPROVAL, nothing applied, the attempt audited as denied', async () => {
    const target = await enrollUser(node, { username: 'dora' });
    const id = await askPromotion(ada.client, target.userId);
    const refused = await approve(ada.client, id);
    expect(refused.status).toBe(403);
    expect(errorCode(refused)).toBe('SELF_APPROVAL');
    expect(await roleOf(target.userId)).toBe('user');
    expect(await lastAudit(node, 'pending_change.approved')).toMatchObject({ outcome: 'denied', actorUsername: 'ada', details: { pendingChangeId: id, reason: 'own_change' } });
    // Still waiting: the second admin can still decide it.
    expect((await reject(bob.client, id)).status).toBe(200);
  });

  it('cannot be approved, rejected or listed by a user or an auditor (403)', async () => {
    const target = await enrollUser(node, { username: 'ezra' });
    const id = await askPromotion(ada.client, target.userId);
    for (const role of ['user', 'auditor'] as const) {
      const outsider = await enrollUser(node, { username: `outsider-${role}`, role });
      await stepUpWith(outsider.client, outsider.authenticator);
      expect(errorCode(await approve(outsider.client, id)), role).toBe('FORBIDDEN');
      expect(errorCode(await reject(outsider.client, id)), role).toBe('FORBIDDEN');
      expect(errorCode(await outsider.client.get('/api/admin/pending-changes')), role).toBe('FORBIDDEN');
    }
    expect(await roleOf(target.userId)).toBe('user');
    expect((await cancel(ada.client, id)).status).toBe(200);
  });

  it('needs a fresh step-up from the second admin: STEP_UP_REQUIRED, nothing applied', async () => {
    const target = await enrollUser(node, { username: 'fern' });
    const id = await askPromotion(ada.client, target.userId);
    await expireStepUp(node, bob.client);
    expect(errorCode(await approve(bob.client, id))).toBe('STEP_UP_REQUIRED');
    expect(await roleOf(target.userId)).toBe('user');
    await stepUpWith(bob.client, bob.authenticator);
    expect((await reject(bob.client, id)).status).toBe(200);
  });

  it('expires after 24 hours: PENDING_CHANGE_EXPIRED, audited once as expired, nothing applied', async () => {
    const target = await enrollUser(node, { username: 'gale' });
    const id = await askPromotion(ada.client, target.userId);
    await ageBeyondExpiry(id);
    const before = await headSeq();
    const late = await approve(bob.client, id);
    expect(late.status).toBe(409);
    expect(errorCode(late)).toBe('PENDING_CHANGE_EXPIRED');
    expect(await roleOf(target.userId)).toBe('user');
    expect((await eventsAfter(before)).map((event) => [event.action, event.actorUsername])).toEqual([['pending_change.expired', null]]);
    // Expired for good: no longer listed, and neither approval nor cancel brings it back.
    expect((await bob.client.get<PendingChangeListResponse>('/api/admin/pending-changes')).body.pendingChanges.map((c) => c.id)).not.toContain(id);
    expect(errorCode(await approve(bob.client, id))).toBe('PENDING_CHANGE_EXPIRED');
    expect(errorCode(await cancel(ada.client, id))).toBe('PENDING_CHANGE_EXPIRED');
  });

  it('an overdue change leaves the list as expired, audited, without anyone acting on it', async () => {
    const target = await enrollUser(node, { username: 'hale' });
    const id = await askPromotion(ada.client, target.userId);
    await ageBeyondExpiry(id);
    expect((await bob.client.get<PendingChangeListResponse>('/api/admin/pending-changes')).body.pendingChanges.map((c) => c.id)).not.toContain(id);
    expect(await lastAudit(node, 'pending_change.expired')).toMatchObject({ targetId: target.userId, details: { pendingChangeId: id } });
  });

  it('approved by a second admin with a fresh step-up: applied as the direct change, grants and sessions ended, every step audited', async () => {
    const target = await enrollUser(node, { username: 'iris' });
    const grantId = await unlock(target.client, target.authenticator);
    const id = await askPromotion(ada.client, target.userId);
    // The key challenges' records (the unlock's, the step-ups') are in the chain before the count starts.
    await node.deps.auditOutbox.drain();
    const before = await headSeq();
    const approved = await approve(bob.client, id);
    expect(approved.status).toBe(200);
    expect(approved.body.pendingChange).toMatchObject({ id, status: 'applied', decidedBy: { username: 'bob' } });
    expect(await roleOf(target.userId)).toBe('admin');
    // As the direct promotion: the grant and the session end, and the person signs in again as an admin.
    expect(await node.deps.grants.forSession(sessionIdOf(target.client))).toBeNull();
    expect((await target.client.get<SessionResponse>('/api/session')).body).toMatchObject({ signedIn: false });
    // Approved, the change's own event, applied: in that order, after the rows (docs/locking.md).
    const events = await eventsAfter(before);
    expect(events.slice(0, 3).map((event) => event.action)).toEqual(['pending_change.approved', 'user.role_changed', 'pending_change.applied']);
    expect(events[1]).toMatchObject({
      actorUsername: 'bob',
      targetId: target.userId,
      details: { before: 'user', after: 'admin', twoPersonRule: 'approved', pendingChangeId: id, requestedBy: 'ada' },
    });
    expect(grantId).toBeTruthy();
    // Decided once: a second approval, or a rejection now, is refused.
    expect(errorCode(await approve(bob.client, id))).toBe('PENDING_CHANGE_CLOSED');
    expect(errorCode(await reject(bob.client, id))).toBe('PENDING_CHANGE_CLOSED');
  });

  it('two admins approving at once: applied once, the other refused, no 500', async () => {
    const carl = await enrollSteppedUpAdmin(node, 'carl');
    const target = await enrollUser(node, { username: 'juno' });
    const id = await askPromotion(ada.client, target.userId);
    const answers = await Promise.all([approve(bob.client, id), approve(carl.client, id)]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
    expect(answers.map(errorCode).filter(Boolean)).toEqual(['PENDING_CHANGE_CLOSED']);
    const { rows } = await query<{ n: number }>(node.deps.pool, 't', "SELECT count(*)::int AS n FROM audit_event WHERE action = 'pending_change.applied' AND details->>'pendingChangeId' = $1", [id]);
    expect(rows[0]!.n).toBe(1);
    // carl stays an admin for the tests below; they need bob and ada only.
  });

  it('a rejected change cannot be approved; only the requester cancels, only another admin rejects', async () => {
    const target = await enrollUser(node, { username: 'kian' });
    const id = await askPromotion(ada.client, target.userId);
    expect(errorCode(await reject(ada.client, id))).toBe('CONFLICT');
    expect(errorCode(await cancel(bob.client, id))).toBe('FORBIDDEN');
    const rejected = await reject(bob.client, id);
    expect(rejected.body.pendingChange).toMatchObject({ status: 'rejected', decidedBy: { username: 'bob' } });
    expect(await lastAudit(node, 'pending_change.rejected')).toMatchObject({ actorUsername: 'bob', details: { pendingChangeId: id } });
    expect(errorCode(await approve(bob.client, id))).toBe('PENDING_CHANGE_CLOSED');
    expect(await roleOf(target.userId)).toBe('user');

    const again = await askPromotion(ada.client, target.userId);
    expect((await cancel(ada.client, again)).body.pendingChange).toMatchObject({ status: 'cancelled', decidedBy: { username: 'ada' } });
    expect(await lastAudit(node, 'pending_change.cancelled')).toMatchObject({ actorUsername: 'ada', details: { pendingChangeId: again } });
    expect(errorCode(await approve(bob.client, again))).toBe('PENDING_CHANGE_CLOSED');
  });

  it('is refused as stale when the user changed meanwhile: PENDING_CHANGE_STALE, nothing applied', async () => {
    const target = await enrollUser(node, { username: 'lark' });
    const id = await askPromotion(ada.client, target.userId);
    expect((await bob.client.patch(`/api/admin/users/${target.userId}`, { role: 'auditor' })).status).toBe(200);
    expect(errorCode(await approve(bob.client, id))).toBe('PENDING_CHANGE_STALE');
    expect(await roleOf(target.userId)).toBe('auditor');
    const deletedUser = await enrollUser(node, { username: 'mace' });
    const gone = await askPromotion(ada.client, deletedUser.userId);
    expect((await bob.client.request('DELETE', `/api/admin/users/${deletedUser.userId}`)).status).toBe(204);
    expect(errorCode(await approve(bob.client, gone))).toBe('PENDING_CHANGE_STALE');
  });

  it('an admin asked for at creation is made a user, and their promotion waits', async () => {
    const created = await ada.client.post<CreateUserResponse>('/api/admin/users', { username: 'nova', role: 'admin' });
    expect(created.status).toBe(201);
    expect(created.body.user).toMatchObject({ username: 'nova', role: 'user' });
    expect(created.body.enrollment.url).toContain('/enroll/');
    expect(created.body.pendingChange).toMatchObject({ kind: 'promote_admin', target: { id: created.body.user.id, role: 'user' }, change: { role: 'admin' } });
    expect((await approve(bob.client, created.body.pendingChange!.id)).status).toBe(200);
    expect(await roleOf(created.body.user.id)).toBe('admin');
  });

  it('leaves other role changes alone', async () => {
    const target = await enrollUser(node, { username: 'opal' });
    const changed = await ada.client.patch<{ user: PublicUser }>(`/api/admin/users/${target.userId}`, { role: 'auditor' });
    expect(changed.status).toBe(200);
    expect(changed.body.user.role).toBe('auditor');
    expect((await lastAudit(node, 'user.role_changed'))!.details).not.toHaveProperty('twoPersonRule');
  });
});

describe('a recovery enrollment link', () => {
  it('for a user with an active key: shown once to the requester, working only once a second admin approves', async () => {
    const target = await enrollUser(node, { username: 'pike' });
    const asked = await ada.client.post<PendingEnrollmentLinkResponse>(`/api/admin/users/${target.userId}/enrollment`);
    expect(asked.status).toBe(202);
    expect(asked.body.pendingChange).toMatchObject({ kind: 'enrollment_link', target: { id: target.userId, username: 'pike' } });
    expect(asked.body.enrollment.validHoursAfterApproval).toBe(node.deps.config.enrollmentTtlHours);
    const token = tokenOf(asked.body.enrollment.url);
    const anonymous = node.client();
    expect(errorCode(await anonymous.get(`/api/enrollment/${token}`))).toBe('ENROLLMENT_INVALID');
    // Only the token's hash is kept, and no audit event carries either.
    const { rows } = await query<{ stored: string }>(node.deps.pool, 't', 'SELECT row_to_json(p)::text AS stored FROM pending_admin_change p WHERE id = $1::uuid', [asked.body.pendingChange.id]);
    expect(rows[0]!.stored).not.toContain(token);
    expect(JSON.stringify(await lastAudit(node, 'pending_change.requested'))).not.toContain(token);
    expect(errorCode(await approve(ada.client, asked.body.pendingChange.id))).toBe('SELF_APPROVAL');
    expect(errorCode(await anonymous.get(`/api/enrollment/${token}`))).toBe('ENROLLMENT_INVALID');

    const approved = await approve(bob.client, asked.body.pendingChange.id);
    expect(approved.status).toBe(200);
    // The approver's answer does not carry the link: only the requester ever saw it.
    expect(JSON.stringify(approved.body)).not.toContain(token);
    expect((await anonymous.get<{ username: string }>(`/api/enrollment/${token}`)).body).toMatchObject({ username: 'pike' });
    expect(await lastAudit(node, 'enrollment.created')).toMatchObject({
      actorUsername: 'bob',
      targetId: target.userId,
      details: { username: 'pike', twoPersonRule: 'approved', pendingChangeId: asked.body.pendingChange.id, requestedBy: 'ada' },
    });
    const { rows: enrollments } = await query<{ created_by: string }>(node.deps.pool, 't', 'SELECT created_by FROM enrollment WHERE user_id = $1::uuid AND revoked_at IS NULL AND used_at IS NULL', [target.userId]);
    expect(enrollments).toEqual([{ created_by: ada.userId }]);
  });

  it('for an admin, even one with no key: held too', async () => {
    const { user } = await createEnrollee(node, { username: 'quill', role: 'admin' });
    const asked = await ada.client.post<PendingEnrollmentLinkResponse>(`/api/admin/users/${user.id}/enrollment`);
    expect(asked.status).toBe(202);
    expect((await cancel(ada.client, asked.body.pendingChange.id)).status).toBe(200);
  });

  it('for a user who has no active key and is not an admin: issued at once, as before', async () => {
    const { user } = await createEnrollee(node, { username: 'rook' });
    const issued = await ada.client.post<{ url: string; expiresAt: string }>(`/api/admin/users/${user.id}/enrollment`);
    expect(issued.status).toBe(201);
    expect(issued.body.url).toContain('/enroll/');
    expect((await lastAudit(node, 'enrollment.created'))!.details).not.toHaveProperty('twoPersonRule');
  });
});

describe("a model's base URL or API-key variable", () => {
  const upstream = (id: string) => ({ id, displayName: `Upstream ${id}`, provider: 'openai', baseUrl: fake.baseUrl, upstreamModel: 'llama3.2', apiKeyEnv: 'PENDING_TEST_KEY' });
  const modelOf = async (id: string) => (await ada.client.get<{ models: AdminModelView[] }>('/api/admin/models')).body.models.find((model) => model.id === id)!;

  it('waits for a second admin; approved, it is applied with its audit event, as the direct change', async () => {
    expect((await ada.client.post('/api/admin/models', upstream('repointed'))).status).toBe(201);
    const elsewhere = fake.baseUrl.replace('/v1', '/other/v1');
    const asked = await ada.client.patch<PendingChangeResponse>('/api/admin/models/repointed', { baseUrl: elsewhere, description: 'Moved.' });
    expect(asked.status).toBe(202);
    expect(asked.body.pendingChange).toMatchObject({ kind: 'model_endpoint', change: { baseUrl: elsewhere, description: 'Moved.' }, before: { baseUrl: fake.baseUrl } });
    expect(await modelOf('repointed')).toMatchObject({ baseUrl: fake.baseUrl, description: '' });
    // Other settings of a model change at once, as before.
    expect((await ada.client.patch('/api/admin/models/repointed', { maxOutputTokens: 512 })).status).toBe(200);
    // …which makes the waiting change stale: the model is not what the approver would approve.
    expect(errorCode(await approve(bob.client, asked.body.pendingChange.id))).toBe('PENDING_CHANGE_STALE');
    expect((await reject(bob.client, asked.body.pendingChange.id)).status).toBe(200);

    const key = await ada.client.patch<PendingChangeResponse>('/api/admin/models/repointed', { apiKeyEnv: 'OTHER_TEST_KEY' });
    expect(key.status).toBe(202);
    const approved = await approve(bob.client, key.body.pendingChange.id);
    expect(approved.status).toBe(200);
    expect(await modelOf('repointed')).toMatchObject({ apiKeyEnv: 'OTHER_TEST_KEY', maxOutputTokens: 512 });
    expect(await lastAudit(node, 'model.changed')).toMatchObject({
      actorUsername: 'bob',
      details: { changes: { apiKeyEnv: { from: 'PENDING_TEST_KEY', to: 'OTHER_TEST_KEY' } }, twoPersonRule: 'approved', pendingChangeId: key.body.pendingChange.id },
    });
  });

  it('is checked as the direct change before it waits: an address inside the network is refused at once', async () => {
    expect((await ada.client.post('/api/admin/models', upstream('guarded'))).status).toBe(201);
    const refused = await ada.client.patch('/api/admin/models/guarded', { baseUrl: 'http://10.0.0.7/v1' });
    expect(refused.status).toBe(400);
    expect(errorCode(refused)).toBe('MODEL_HOST_FORBIDDEN');
    // An openai model keeps a base URL: taking it away is invalid now, not after a second admin looked.
    expect(errorCode(await ada.client.patch('/api/admin/models/guarded', { baseUrl: null }))).toBe('VALIDATION_FAILED');
    const { rows } = await query<{ n: number }>(node.deps.pool, 't', "SELECT count(*)::int AS n FROM pending_admin_change WHERE target_model_id = 'guarded'");
    expect(rows[0]!.n).toBe(0);
  });

  it('runs the same checks again at approval: a host allowed when asked but not where it is approved is refused', async () => {
    expect((await ada.client.post('/api/admin/models', upstream('rechecked'))).status).toBe(201);
    const asked = await ada.client.patch<PendingChangeResponse>('/api/admin/models/rechecked', { baseUrl: fake.baseUrl.replace('/v1', '/v2') });
    expect(asked.status).toBe(202);
    // A node whose MODEL_HOST_ALLOWLIST no longer names 127.0.0.1.
    const strict = await startSiblingNode(node, { SIGNIN_RATE_PER_MINUTE: '1000', MODEL_HOST_ALLOWLIST: '' });
    try {
      const refused = await approve(bob.client.sameSessionOn(strict), asked.body.pendingChange.id);
      expect(refused.status).toBe(400);
      expect(errorCode(refused)).toBe('MODEL_HOST_FORBIDDEN');
      expect((await modelOf('rechecked')).baseUrl).toBe(fake.baseUrl);
    } finally {
      await strict.destroy();
    }
  });
});

describe('when the rule cannot or may not hold a change', () => {
  it('with a single admin who could approve, changes go through, their audit events saying why', async () => {
    const solo = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
    try {
      const only = await enrollSteppedUpAdmin(solo, 'only');
      // An admin who never enrolled (no key) could not approve anything: the rule does not wait for them.
      await createEnrollee(solo, { username: 'unenrolled-admin', role: 'admin' });
      const target = await enrollUser(solo, { username: 'sage' });
      const promoted = await only.client.patch<{ user: PublicUser }>(`/api/admin/users/${target.userId}`, { role: 'admin' });
      expect(promoted.status).toBe(200);
      expect(promoted.body.user.role).toBe('admin');
      expect((await lastAudit(solo, 'user.role_changed'))!.details).toMatchObject({ after: 'admin', twoPersonRule: 'not_applicable_single_admin' });
    } finally {
      await solo.destroy();
    }
  });

  it('with TWO_PERSON_RULE=off, changes go through with two admins, their audit events saying so', async () => {
    const off = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000', TWO_PERSON_RULE: 'off' });
    try {
      const first = await enrollSteppedUpAdmin(off, 'first');
      await enrollSteppedUpAdmin(off, 'second');
      const target = await enrollUser(off, { username: 'tess' });
      expect((await first.client.patch(`/api/admin/users/${target.userId}`, { role: 'admin' })).status).toBe(200);
      expect((await lastAudit(off, 'user.role_changed'))!.details).toMatchObject({ after: 'admin', twoPersonRule: 'off' });
      const link = await first.client.post<{ url: string }>(`/api/admin/users/${target.userId}/enrollment`);
      expect(link.status).toBe(201);
      expect((await lastAudit(off, 'enrollment.created'))!.details).toMatchObject({ twoPersonRule: 'off' });
    } finally {
      await off.destroy();
    }
  });

  it('is on by default, and TWO_PERSON_RULE takes only on or off', () => {
    const base = { SESSION_SECRET: 'x'.repeat(32), ARGUS_DATA_DIR: '/tmp/argus-config-test' };
    expect(loadConfig(base).twoPersonRule).toBe('on');
    expect(loadConfig({ ...base, TWO_PERSON_RULE: 'off' }).twoPersonRule).toBe('off');
    expect(() => loadConfig({ ...base, TWO_PERSON_RULE: 'maybe' })).toThrow(/TWO_PERSON_RULE/);
  });
});
