import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OverviewHour, OverviewResponse } from '../../shared/api.ts';
import type { AuditAction } from '../../shared/audit.ts';
import { recordAuditEvent, SYSTEM_CONTEXT } from '../audit/record.ts';
import { downloadExport } from '../audit/testing/auditTestKit.ts';
import { verifyAuditChain } from '../audit/verify.ts';
import { query, withTransaction } from '../db/pool.ts';
import { enrollSteppedUpAdmin, enrollUser, errorCode, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';

let node: TestNode;
let admin: TestClient;
let user: TestClient;
let auditor: TestClient;

beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
  admin = (await enrollUser(node, { username: 'ada', role: 'admin' })).client;
  user = (await enrollUser(node, { username: 'uma' })).client;
  auditor = (await enrollUser(node, { username: 'otto', role: 'auditor' })).client;
});
afterAll(() => node.destroy());

const HOUR = 3_600_000;

/** Appends an audit event as if it had happened at `at` (only Date is faked, for the write). */
async function seed(at: number, action: AuditAction, details: Record<string, unknown> = {}, outcome: 'success' | 'denied' | 'failure' = 'success') {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(at);
  try {
    await withTransaction(node.deps.pool, (client) => recordAuditEvent(client, SYSTEM_CONTEXT, { action, outcome, details }));
  } finally {
    vi.useRealTimers();
  }
}

const overview = async () => (await admin.get<OverviewResponse>('/api/admin/overview')).body;
const byHour = (o: OverviewResponse) => new Map(o.hours.map((h) => [h.hour, h]));

describe('the admin overview', () => {
  it('counts sign-ins, grants issued and revoked (by reason), denials and mismatches per hour over the last 24 h', async () => {
    const before = await overview();
    const now = Date.now();
    const seeds: Array<[number, AuditAction, Record<string, unknown>?]> = [
      [now - 30 * HOUR, 'auth.signin'], // outside the window
      [now - 23.2 * HOUR, 'auth.signin'],
      [now - 5 * HOUR, 'auth.signin'],
      [now - 5 * HOUR, 'auth.signin'],
      [now - 5 * HOUR, 'auth.signin_failed'],
      [now - 5 * HOUR, 'grant.issued'],
      [now - 5 * HOUR, 'grant.renewed'],
      [now - 4 * HOUR, 'grant.revoked', { reason: 'key_removed' }],
      [now - 4 * HOUR, 'grant.revoked', { reason: 'admin_revoked' }],
      [now - 2 * HOUR, 'grant.revoked', { reason: 'key_removed' }],
      [now - 2 * HOUR, 'grant.denied', { reason: 'no_grant' }],
      [now - 1 * HOUR, 'auth.key_mismatch'],
      [now - 1 * HOUR, 'device_info_mismatch'],
      [now - 1 * HOUR, 'grant.expired'], // not a revocation
      [now - 1 * HOUR, 'model.access'], // not counted at all
    ];
    for (const [at, action, details] of seeds) await seed(at, action, details, action === 'grant.denied' ? 'denied' : 'success');
    const after = await overview();

    expect(after.hours).toHaveLength(24);
    expect(Date.parse(after.since)).toBe(Date.parse(after.hours[0]!.hour));
    expect(Date.parse(after.hours[23]!.hour)).toBe(Math.floor(Date.now() / HOUR) * HOUR);

    // What the seeds added, hour by hour, compared with what we expect of them.
    const expected = new Map<string, Omit<OverviewHour, 'hour'>>();
    const series: Partial<Record<AuditAction, keyof Omit<OverviewHour, 'hour'>>> = {
      'auth.signin': 'signIns',
      'auth.signin_failed': 'signInFailures',
      'grant.issued': 'grantsIssued',
      'grant.renewed': 'grantsIssued',
      'grant.revoked': 'grantsRevoked',
      'grant.denied': 'denials',
      'auth.key_mismatch': 'mismatches',
      'device_info_mismatch': 'mismatches',
    };
    for (const [at, action] of seeds) {
      const hour = new Date(Math.floor(at / HOUR) * HOUR).toISOString();
      const name = series[action];
      if (!name || Date.parse(hour) < Date.parse(after.since)) continue;
      const row = expected.get(hour) ?? { signIns: 0, signInFailures: 0, grantsIssued: 0, grantsRevoked: 0, denials: 0, mismatches: 0 };
      row[name] += 1;
      expected.set(hour, row);
    }
    const old = byHour(before);
    const zero = { signIns: 0, signInFailures: 0, grantsIssued: 0, grantsRevoked: 0, denials: 0, mismatches: 0 };
    for (const { hour, ...counts } of after.hours) {
      const previous = old.get(hour) ?? { hour, ...zero };
      const added = Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v - previous[k as keyof typeof zero]]));
      expect(added, hour).toEqual(expected.get(hour) ?? zero);
    }
    expect(after.revokedByReason.key_removed! - (before.revokedByReason.key_removed ?? 0)).toBe(2);
    expect(after.revokedByReason.admin_revoked! - (before.revokedByReason.admin_revoked ?? 0)).toBe(1);
    expect(after.revokedByReason.expired).toBeUndefined();

    // Seeding went through the real chain writer: the chain is still intact.
    expect(await verifyAuditChain(node.deps.pool)).toMatchObject({ intact: true });
  });

  it('says what is live now', async () => {
    const { current } = await overview();
    expect(current).toEqual({ activeUsers: 3, liveSessions: 3, liveGrants: 0, enabledModels: 2 });
  });

  it('is for admins only', async () => {
    for (const client of [user, auditor]) {
      const refused = await client.get('/api/admin/overview');
      expect(refused.status).toBe(403);
      expect(errorCode(refused)).toBe('FORBIDDEN');
    }
    expect(errorCode(await admin.get('/api/admin/overview?hours=48'))).toBe('VALIDATION_FAILED');
  });
});

describe("the first admin's checklist", () => {
  let fresh: TestNode;
  beforeAll(async () => {
    fresh = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
  });
  afterAll(() => fresh.destroy());

  it('starts with nothing done and ticks each step off from the data, not from clicks', async () => {
    const first = (await enrollSteppedUpAdmin(fresh, 'first-admin')).client;
    const setup = async () => (await first.get<OverviewResponse>('/api/admin/overview')).body.setup;
    // Only the first admin, only the demo models, no detector, no export.
    expect(await setup()).toEqual({ usersCreated: false, realModel: false, detectorPaired: false, auditExported: false });

    expect((await first.post('/api/admin/users', { username: 'second-person', role: 'user' })).status).toBe(201);
    expect(await setup()).toMatchObject({ usersCreated: true, realModel: false });

    // A demo model is not a real one, enabled or not.
    const model = { displayName: 'Office model', provider: 'openai', baseUrl: 'http://127.0.0.1:9/v1', upstreamModel: 'llama3.2', tier: 'standard' };
    expect((await first.post('/api/admin/models', { id: 'office', ...model })).status).toBe(201);
    expect((await setup()).realModel).toBe(true);
    // Disabled, it no longer counts: nobody could chat with it.
    expect((await first.request('PATCH', '/api/admin/models/office', { enabled: false })).status).toBe(200);
    expect((await setup()).realModel).toBe(false);
    expect((await first.request('PATCH', '/api/admin/models/office', { enabled: true })).status).toBe(200);

    const { rows } = await query<{ id: string }>(fresh.deps.pool, 't', "SELECT id FROM app_user WHERE username = 'first-admin'");
    await query(fresh.deps.pool, 't', "INSERT INTO detector (user_id, key_id, key_hash, name) VALUES ($1, 'kid_0123456789abcdef', 'x', 'Desk')", [rows[0]!.id]);
    expect((await setup()).detectorPaired).toBe(true);

    await downloadExport(first, 'jsonl');
    expect(await setup()).toEqual({ usersCreated: true, realModel: true, detectorPaired: true, auditExported: true });
  });
});
