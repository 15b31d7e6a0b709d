/**
 * Promotions to admin that company sign-in asks for (OIDC_ADMIN_GROUPS, threat model G20),
 * against a real provider: while an admin could approve, the groups' promotion waits as a
 * pending change (source company_groups) and the sign-in goes on with the current role; a
 * second admin approves or rejects it; a rejection is not asked again for the same groups for
 * GROUP_PROMOTION_REJECTION_DAYS; losing the admin group still demotes at once, and withdraws a
 * promotion still waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PendingChangeListResponse, PendingChangeResponse } from '../../shared/api.ts';
import type { ErrorBody } from '../../shared/errors.ts';
import { query } from '../db/pool.ts';
import { GROUP_PROMOTION_REJECTION_DAYS } from '../pendingChanges/requestChange.ts';
import { companySignIn, landingError, registerKeyAfterCompanySignIn, touchKey } from '../test/companySignIn.ts';
import { enrollSteppedUpAdmin, lastAudit, startTestNode, stepUpWith, type TestNode } from '../test/harness.ts';
import { startTestProvider, type TestProvider } from '../test/oidcProvider.ts';
import type { SoftAuthenticator } from '../test/softAuthenticator.ts';

let provider: TestProvider;
let node: TestNode;
let gatekeeper: Awaited<ReturnType<typeof enrollSteppedUpAdmin>>;

beforeAll(async () => {
  provider = await startTestProvider({
    users: {
      'sub-hank': { preferred_username: 'hank', groups: ['argus-admins'] },
      'sub-ivy': { preferred_username: 'ivy', groups: ['staff'] },
      'sub-jo': { preferred_username: 'jo', groups: ['argus-admins'] },
      'sub-kim': { preferred_username: 'kim', groups: ['argus-admins'] },
    },
  });
  node = await startTestNode(
    provider.env({ OIDC_PROVISIONING: 'jit', OIDC_FIRST_KEY: 'self', OIDC_ADMIN_GROUPS: 'argus-admins', SIGNIN_RATE_PER_MINUTE: '1000', ROUTE_RATE_LIMIT_FACTOR: '100' }),
  );
  // The admin who can approve: with them, the two-person rule holds group promotions.
  gatekeeper = await enrollSteppedUpAdmin(node, 'gatekeeper');
});
afterAll(async () => {
  await node?.destroy();
  await provider?.close();
});

async function roleOf(username: string): Promise<string | undefined> {
  const { rows } = await query<{ role: string }>(node.deps.pool, 't', 'SELECT role FROM app_user WHERE username = $1', [username]);
  return rows[0]?.role;
}

/** The group-driven promotions asked for `username`, oldest first. */
async function groupPromotions(username: string) {
  const { rows } = await query<{ id: string; status: string }>(
    node.deps.pool,
    't',
    `SELECT p.id, p.status FROM pending_admin_change p JOIN app_user u ON u.id = p.target_user_id
     WHERE u.username = $1 AND p.source = 'company_groups' ORDER BY p.requested_at`,
    [username],
  );
  return rows;
}

async function decide(id: string, decision: 'approve' | 'reject') {
  await stepUpWith(gatekeeper.client, gatekeeper.authenticator);
  return gatekeeper.client.post<PendingChangeResponse>(`/api/admin/pending-changes/${id}/${decision}`);
}

const keys = new Map<string, SoftAuthenticator>();

/**
 * `username`'s first company sign-in (groups naming the admin group) and first key: they are a
 * user, with the promotion waiting. Answers their key and that pending change.
 */
async function firstSignInAskingPromotion(username: string): Promise<{ key: SoftAuthenticator; asked: { id: string; status: string } }> {
  const first = await companySignIn(node, provider, `sub-${username}`);
  const key = node.authenticator();
  expect((await registerKeyAfterCompanySignIn(first.client, key)).body).toMatchObject({ next: 'done', user: { username, role: 'user' } });
  const [asked] = await groupPromotions(username);
  expect(asked).toMatchObject({ status: 'pending' });
  return { key, asked: asked! };
}

describe('a promotion to admin from the provider’s groups (threat model G20)', () => {
  it('makes a new account a user, and asks for the promotion once: audited, listed, not doubled by the next sign-in', async () => {
    const { client, landing } = await companySignIn(node, provider, 'sub-hank');
    expect(landingError(landing)).toBeNull();
    const key = node.authenticator();
    keys.set('hank', key);
    expect((await registerKeyAfterCompanySignIn(client, key)).body).toMatchObject({ next: 'done', user: { username: 'hank', role: 'user' } });
    expect(await roleOf('hank')).toBe('user');
    expect(await lastAudit(node, 'user.created')).toMatchObject({ details: { username: 'hank', role: 'user', source: 'company_sign_in' } });

    const [asked] = await groupPromotions('hank');
    expect(asked).toMatchObject({ status: 'pending' });
    const requested = await lastAudit(node, 'pending_change.requested');
    expect(requested).toMatchObject({
      actorUsername: 'hank',
      details: { pendingChangeId: asked!.id, kind: 'promote_admin', username: 'hank', requestedBy: 'hank', source: 'company_groups', groups: ['argus-admins'], change: { role: 'admin' } },
    });
    expect(await lastAudit(node, 'auth.oidc_verified')).toMatchObject({ details: { subject: 'sub-hank', groupPromotion: 'requested' } });
    const listed = await gatekeeper.client.get<PendingChangeListResponse>('/api/admin/pending-changes');
    expect(listed.body.pendingChanges.find((change) => change.id === asked!.id)).toMatchObject({
      kind: 'promote_admin',
      source: 'company_groups',
      groups: ['argus-admins'],
      target: { username: 'hank', role: 'user' },
      requestedBy: { username: 'hank' },
    });

    // The next sign-in with the same groups goes on as a user, and asks nothing new.
    const again = await companySignIn(node, provider, 'sub-hank');
    expect((await touchKey(again.client, key)).body).toMatchObject({ next: 'done', user: { username: 'hank', role: 'user' } });
    expect(await groupPromotions('hank')).toEqual([asked]);
    expect((await lastAudit(node, 'pending_change.requested'))!.seq).toBe(requested!.seq);
    expect(await lastAudit(node, 'auth.oidc_verified')).toMatchObject({ details: { subject: 'sub-hank', groupPromotion: 'already_waiting' } });
  });

  it('is applied when another admin approves it, the role change audited as approved and from the groups', async () => {
    const [asked] = await groupPromotions('hank');
    const approved = await decide(asked!.id, 'approve');
    expect(approved.status).toBe(200);
    expect(approved.body.pendingChange).toMatchObject({ status: 'applied', source: 'company_groups', decidedBy: { username: 'gatekeeper' } });
    expect(await roleOf('hank')).toBe('admin');
    expect(await lastAudit(node, 'user.role_changed')).toMatchObject({
      actorUsername: 'gatekeeper',
      details: { username: 'hank', before: 'user', after: 'admin', source: 'company_groups', twoPersonRule: 'approved', pendingChangeId: asked!.id, requestedBy: 'hank' },
    });
    // Signed in again with the same groups: an admin, and nothing more to ask.
    await companySignIn(node, provider, 'sub-hank');
    expect(await lastAudit(node, 'auth.oidc_verified')).toMatchObject({ details: { subject: 'sub-hank', next: 'needs_key' } });
    expect((await lastAudit(node, 'auth.oidc_verified'))!.details.groupPromotion).toBeUndefined();
    expect(await roleOf('hank')).toBe('admin');
  });

  it('demotes at once when the groups lose the admin group: taking access away needs no second admin', async () => {
    provider.users.set('sub-hank', { preferred_username: 'hank', groups: ['staff'] });
    const waitingBefore = await gatekeeper.client.get<PendingChangeListResponse>('/api/admin/pending-changes');
    const { landing } = await companySignIn(node, provider, 'sub-hank');
    expect(landingError(landing)).toBeNull();
    expect(await roleOf('hank')).toBe('user');
    expect(await lastAudit(node, 'user.role_changed')).toMatchObject({ actorUsername: 'hank', details: { username: 'hank', before: 'admin', after: 'user', source: 'company_groups' } });
    const waitingAfter = await gatekeeper.client.get<PendingChangeListResponse>('/api/admin/pending-changes');
    expect(waitingAfter.body.pendingChanges.length).toBe(waitingBefore.body.pendingChanges.length);
  });

  it('leaves a rejected user as they are, and does not ask again for the same groups until the rejection ages out or the groups change', async () => {
    const first = await companySignIn(node, provider, 'sub-ivy');
    const key = node.authenticator();
    expect((await registerKeyAfterCompanySignIn(first.client, key)).body).toMatchObject({ next: 'done', user: { username: 'ivy', role: 'user' } });
    expect(await groupPromotions('ivy')).toEqual([]);

    // The provider puts ivy in the admin group: an existing user's promotion is asked for too.
    provider.users.set('sub-ivy', { preferred_username: 'ivy', groups: ['argus-admins', 'staff'] });
    await companySignIn(node, provider, 'sub-ivy');
    const [asked] = await groupPromotions('ivy');
    expect(asked).toMatchObject({ status: 'pending' });
    expect(await roleOf('ivy')).toBe('user');

    const rejected = await decide(asked!.id, 'reject');
    expect(rejected.status).toBe(200);
    expect(await lastAudit(node, 'pending_change.rejected')).toMatchObject({
      actorUsername: 'gatekeeper',
      details: { pendingChangeId: asked!.id, username: 'ivy', source: 'company_groups' },
    });
    expect(await roleOf('ivy')).toBe('user');

    // The same groups again, twice: no new request, the sign-in goes on as a user.
    for (let i = 0; i < 2; i++) {
      const again = await companySignIn(node, provider, 'sub-ivy');
      expect((await touchKey(again.client, key)).body).toMatchObject({ next: 'done', user: { username: 'ivy', role: 'user' } });
      expect(await lastAudit(node, 'auth.oidc_verified')).toMatchObject({ details: { subject: 'sub-ivy', groupPromotion: 'rejected_before' } });
    }
    expect((await groupPromotions('ivy')).map((row) => row.status)).toEqual(['rejected']);

    // The rejection ages out: the same groups ask again.
    await query(node.ownerPool(), 't', `UPDATE pending_admin_change SET decided_at = now() - make_interval(days => $2::int + 1) WHERE id = $1::uuid`, [
      asked!.id,
      GROUP_PROMOTION_REJECTION_DAYS,
    ]);
    await companySignIn(node, provider, 'sub-ivy');
    const afterAging = await groupPromotions('ivy');
    expect(afterAging.map((row) => row.status)).toEqual(['rejected', 'pending']);
    expect(await lastAudit(node, 'auth.oidc_verified')).toMatchObject({ details: { subject: 'sub-ivy', groupPromotion: 'requested' } });

    // Rejected again, then the provider's groups change: asked at once.
    expect((await decide(afterAging[1]!.id, 'reject')).status).toBe(200);
    await companySignIn(node, provider, 'sub-ivy');
    expect((await groupPromotions('ivy')).map((row) => row.status)).toEqual(['rejected', 'rejected']);
    provider.users.set('sub-ivy', { preferred_username: 'ivy', groups: ['argus-admins', 'platform'] });
    await companySignIn(node, provider, 'sub-ivy');
    expect((await groupPromotions('ivy')).map((row) => row.status)).toEqual(['rejected', 'rejected', 'pending']);
    expect(await lastAudit(node, 'pending_change.requested')).toMatchObject({ details: { username: 'ivy', groups: ['argus-admins', 'platform'] } });
    expect(await roleOf('ivy')).toBe('user');
  });

  it('withdraws a waiting promotion when a later sign-in’s groups no longer name an admin group: audited, and no admin can approve it then', async () => {
    const { key, asked } = await firstSignInAskingPromotion('jo');

    // The provider takes jo out of the admin group before any admin decided.
    provider.users.set('sub-jo', { preferred_username: 'jo', groups: ['staff'] });
    const again = await companySignIn(node, provider, 'sub-jo');
    expect((await touchKey(again.client, key)).body).toMatchObject({ next: 'done', user: { username: 'jo', role: 'user' } });
    expect(await groupPromotions('jo')).toEqual([{ id: asked.id, status: 'cancelled' }]);
    expect(await lastAudit(node, 'pending_change.cancelled')).toMatchObject({
      actorUsername: 'jo',
      targetType: 'user',
      details: { pendingChangeId: asked.id, kind: 'promote_admin', username: 'jo', requestedBy: 'jo', source: 'company_groups', reason: 'groups_changed', groups: ['staff'] },
    });
    expect(await lastAudit(node, 'auth.oidc_verified')).toMatchObject({ details: { subject: 'sub-jo', groupPromotion: 'withdrawn' } });
    const listed = await gatekeeper.client.get<PendingChangeListResponse>('/api/admin/pending-changes');
    expect(listed.body.pendingChanges.map((change) => change.id)).not.toContain(asked.id);

    // An approver who still had it on screen is refused with the usual answer; jo stays a user.
    const approved = await decide(asked.id, 'approve');
    expect(approved.status).toBe(409);
    expect((approved.body as unknown as ErrorBody).error).toMatchObject({ code: 'PENDING_CHANGE_CLOSED', message: 'This change was already cancelled.' });
    expect(await roleOf('jo')).toBe('user');

    // Withdrawn once: the next sign-in without the group has nothing to withdraw.
    await companySignIn(node, provider, 'sub-jo');
    expect((await lastAudit(node, 'auth.oidc_verified'))!.details.groupPromotion).toBeUndefined();

    // Back in the admin group: a withdrawal is no rejection, so it is asked again at once.
    provider.users.set('sub-jo', { preferred_username: 'jo', groups: ['argus-admins'] });
    await companySignIn(node, provider, 'sub-jo');
    expect((await groupPromotions('jo')).map((row) => row.status)).toEqual(['cancelled', 'pending']);
    expect(await lastAudit(node, 'auth.oidc_verified')).toMatchObject({ details: { subject: 'sub-jo', groupPromotion: 'requested' } });
  });

  it('leaves no admin when the approval lands while a sign-in without the admin group is under way', async () => {
    const { key, asked } = await firstSignInAskingPromotion('kim');

    // The provider takes kim out of the admin group; kim signs in again, and an admin approves
    // the promotion after that sign-in read kim's account, just before it looks for a promotion to withdraw.
    provider.users.set('sub-kim', { preferred_username: 'kim', groups: ['staff'] });
    const pool = node.deps.pool as unknown as { query: (config: unknown, ...rest: unknown[]) => unknown };
    const original = pool.query;
    let approved: Awaited<ReturnType<typeof decide>> | undefined;
    pool.query = function (this: unknown, config: unknown, ...rest: unknown[]) {
      const text = typeof config === 'object' && config !== null ? String((config as { text?: unknown }).text ?? '') : '';
      if (approved === undefined && text.includes("source = 'company_groups'") && text.includes('ORDER BY requested_at DESC LIMIT 1')) {
        pool.query = original;
        return decide(asked.id, 'approve').then((answer) => {
          approved = answer;
          return original.call(this, config, ...rest);
        });
      }
      return original.call(this, config, ...rest);
    };
    let again: Awaited<ReturnType<typeof companySignIn>>;
    try {
      again = await companySignIn(node, provider, 'sub-kim');
    } finally {
      pool.query = original;
    }
    expect(approved?.status).toBe(200);
    // The sign-in's groups win: the role it found was stale, and kim is demoted at once, audited.
    expect(await roleOf('kim')).toBe('user');
    expect(await lastAudit(node, 'user.role_changed')).toMatchObject({ actorUsername: 'kim', details: { username: 'kim', before: 'admin', after: 'user', source: 'company_groups' } });
    expect((await touchKey(again.client, key)).body).toMatchObject({ next: 'done', user: { username: 'kim', role: 'user' } });
  });
});
