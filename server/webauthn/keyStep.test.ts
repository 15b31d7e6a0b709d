import pg from 'pg';
import type { AuditEventView } from '../../shared/audit.ts';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { getKeyByCredentialId, recordKeyUseIfUnchanged } from '../db/keys.ts';
import { query } from '../db/pool.ts';
import { enrollUser, errorCode, lastAudit, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';
import type { SoftAuthenticator } from '../test/softAuthenticator.ts';

/**
 * A sign-in ceremony costs at most one Postgres commit on its way (issue #24): the options
 * step queues its audit record in the outbox with the challenge and commits nothing, the
 * verification commits once. The key step's optimistic write never accepts a key that changed
 * after it was read.
 */
let node: TestNode;
let alice: { client: TestClient; userId: string; password: string; authenticator: SoftAuthenticator; keyId: string };

beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000' });
  alice = await enrollUser(node, { username: 'alice', password: 'ecila-owl drinks tea at noon' });
});
afterAll(() => node.destroy());
afterEach(() => vi.restoreAllMocks());

/** A statement that changes rows: an INSERT, an UPDATE … SET, a DELETE, or an audit append (a function that inserts). */
const WRITES = /\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b|\baudit_append/i;

/**
 * Counts the commits that write, on every Postgres connection of this process, the way
 * Postgres would: a BEGIN … COMMIT block that wrote is one, and so is a writing statement
 * outside a block (it commits by itself). Reads commit nothing worth a WAL flush.
 */
function countWritingCommits(): { readonly commits: number; readonly statements: string[] } {
  const original = pg.Client.prototype.query;
  const blocks = new WeakMap<object, { wrote: boolean }>();
  const seen = { commits: 0, statements: [] as string[] };
  vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string } | undefined;
    const text = (typeof config === 'string' ? config : config?.text ?? '').trim();
    const verb = text.split(/\s+/)[0]!.toUpperCase();
    const block = blocks.get(this);
    if (verb === 'BEGIN') blocks.set(this, { wrote: false });
    else if (verb === 'COMMIT' || verb === 'ROLLBACK') {
      if (verb === 'COMMIT' && block?.wrote) seen.commits += 1;
      blocks.delete(this);
    } else if (WRITES.test(text)) {
      seen.statements.push(text.replace(/\s+/g, ' ').slice(0, 200));
      if (block) block.wrote = true;
      else seen.commits += 1;
    }
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as never);
  return seen;
}

/**
 * Runs one ceremony step and answers how many writing commits it made. The outbox drainer
 * (a timer, off the request's way) is held while the step runs, so its commits are not
 * counted as the step's.
 */
async function commitsOf<T>(step: () => Promise<T>): Promise<{ result: T; commits: number; statements: string[] }> {
  // Let the work of the previous step (its NOTIFY readers, the outbox) settle first.
  await node.deps.auditOutbox.drain();
  await new Promise((resolve) => setTimeout(resolve, 50));
  vi.spyOn(node.deps.auditOutbox, 'drain').mockResolvedValue(0);
  const seen = countWritingCommits();
  const result = await step();
  vi.restoreAllMocks();
  return { result, commits: seen.commits, statements: seen.statements };
}

/** The newest `webauthn.options_issued` event once the outbox has drained, or null. */
async function optionsIssuedEvent(): Promise<AuditEventView | undefined> {
  await node.deps.auditOutbox.drain();
  return lastAudit(node, 'webauthn.options_issued');
}

type Options = { options: { challenge: string } };

describe('commits per ceremony step', () => {
  it('the counter sees every writing commit (it would not pass two off as one, nor reads as any)', async () => {
    const touch = () => query(node.deps.pool, 'probe', `UPDATE security_key SET nickname = nickname WHERE id = $1::uuid`, [alice.keyId]);
    expect((await commitsOf(touch)).commits).toBe(1);
    expect((await commitsOf(async () => (await touch(), await touch()))).commits).toBe(2);
    expect((await commitsOf(() => getKeyByCredentialId(node.deps.pool, alice.authenticator.credentials[0]!.id))).commits).toBe(0);
  });

  it('sign-in: the password step commits once, the key options not at all, the key verification once', async () => {
    const client = node.client();
    const password = await commitsOf(() => client.post('/api/auth/signin', { username: 'alice', password: alice.password }));
    expect(password.result.status).toBe(200);
    const options = await commitsOf(() => client.post<Options>('/api/auth/key/options'));
    expect(options.result.status).toBe(200);
    const verify = await commitsOf(() => client.post('/api/auth/key', { response: alice.authenticator.assert(options.result.body.options) }));
    expect(verify.result.status).toBe(200);
    expect({ password: password.commits, options: options.commits, verify: verify.commits }).toEqual({ password: 1, options: 0, verify: 1 });
    // The verification's one commit holds the key's use and its audit event together.
    expect(verify.statements).toEqual([expect.stringMatching(/^UPDATE security_key SET/), expect.stringMatching(/audit_append/)]);
  });

  it('step-up: the options commit nothing, the verification once', async () => {
    const options = await commitsOf(() => alice.client.post<Options>('/api/account/step-up/options'));
    const verify = await commitsOf(() => alice.client.post('/api/account/step-up', { response: alice.authenticator.assert(options.result.body.options) }));
    expect(verify.result.status).toBe(200);
    expect({ options: options.commits, verify: verify.commits }).toEqual({ options: 0, verify: 1 });
  });

  it('the options step still records that options were issued: queued with the challenge, then appended to the chain', async () => {
    const before = await optionsIssuedEvent();
    vi.spyOn(node.deps.auditOutbox, 'drain').mockResolvedValue(0);
    const options = await alice.client.post<Options>('/api/account/step-up/options');
    expect(options.status).toBe(200);
    // Queued in Redis with the challenge before the options left…
    expect(await node.deps.auditOutbox.pending()).toBeGreaterThan(0);
    vi.restoreAllMocks();
    // …and in the chain once the outbox drains.
    const after = await optionsIssuedEvent();
    expect(after!.seq).toBeGreaterThan(before?.seq ?? 0);
    expect(after).toMatchObject({ actorId: alice.userId, targetId: alice.userId, details: { ceremony: 'step-up', keys: 1 } });
  });

  it('a refused assertion and a wrong password commit their audit event once', async () => {
    const options = (await alice.client.post<Options>('/api/account/step-up/options')).body;
    const refused = await commitsOf(() => alice.client.post('/api/account/step-up', { response: alice.authenticator.assert(options.options, { badSignature: true }) }));
    expect(errorCode(refused.result)).toBe('WEBAUTHN_FAILED');
    const wrong = await commitsOf(() => node.client().post('/api/auth/signin', { username: 'alice', password: 'not the password at all' }));
    expect(wrong.result.status).toBe(401);
    expect({ refused: refused.commits, wrong: wrong.commits }).toEqual({ refused: 1, wrong: 1 });
  });
});

describe('the key written only if it is still the key judged', () => {
  const credentialId = () => alice.authenticator.credentials[0]!.id;

  it('writes the use when owner, status and counter are unchanged, and nothing when any of them changed', async () => {
    const owner = node.ownerPool();
    const read = (await getKeyByCredentialId(node.deps.pool, credentialId()))!;
    const next = Number(read.sign_count) + 1;
    // Changed meanwhile: the counter (a use elsewhere), the status, the owner.
    await owner.query('UPDATE security_key SET sign_count = sign_count + 1 WHERE id = $1', [read.id]);
    expect(await recordKeyUseIfUnchanged(node.deps.pool, read, { userId: alice.userId, signCount: next + 5 })).toBe(false);
    const fresh = (await getKeyByCredentialId(node.deps.pool, credentialId()))!;
    await owner.query("UPDATE security_key SET status = 'suspended' WHERE id = $1", [read.id]);
    expect(await recordKeyUseIfUnchanged(node.deps.pool, fresh, { userId: alice.userId, signCount: next + 5 })).toBe(false);
    await owner.query("UPDATE security_key SET status = 'active' WHERE id = $1", [read.id]);
    expect(await recordKeyUseIfUnchanged(node.deps.pool, fresh, { userId: '00000000-0000-4000-8000-000000000000', signCount: next + 5 })).toBe(false);
    expect(Number((await getKeyByCredentialId(node.deps.pool, credentialId()))!.sign_count)).toBe(next);
    // Unchanged: written.
    expect(await recordKeyUseIfUnchanged(node.deps.pool, fresh, { userId: alice.userId, signCount: next + 5 })).toBe(true);
    expect(Number((await getKeyByCredentialId(node.deps.pool, credentialId()))!.sign_count)).toBe(next + 5);
    alice.authenticator.credentials[0]!.signCount = next + 5;
  });

  it('refuses a key suspended between its read and the write, judged again under the lock', async () => {
    const { options } = (await alice.client.post<Options>('/api/account/step-up/options')).body;
    const assertion = alice.authenticator.assert(options);
    // The first read of the key answers, then an admin suspends it before the key step writes.
    const pool = node.deps.pool;
    const read = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
    vi.spyOn(pool, 'query').mockImplementation((async (...args: unknown[]) => {
      const text = (args[0] as { text?: string })?.text ?? '';
      const rows = await read(...args);
      if (/WHERE k\.credential_id = \$1::bytea\s*$/.test(text)) {
        await node.ownerPool().query("UPDATE security_key SET status = 'suspended', status_reason = 'test' WHERE id = $1", [alice.keyId]);
      }
      return rows;
    }) as never);
    const response = await alice.client.post('/api/account/step-up', { response: assertion });
    vi.restoreAllMocks();
    try {
      expect(errorCode(response)).toBe('KEY_SUSPENDED');
      expect((await lastAudit(node, 'webauthn.assertion_failed'))?.details).toMatchObject({ ceremony: 'step-up', reason: 'key_suspended' });
      // Nothing of the use was written.
      const row = (await getKeyByCredentialId(node.deps.pool, credentialId()))!;
      expect(Number(row.sign_count)).toBeLessThan(alice.authenticator.credentials[0]!.signCount);
    } finally {
      await node.ownerPool().query("UPDATE security_key SET status = 'active', status_reason = NULL WHERE id = $1", [alice.keyId]);
      alice.authenticator.credentials[0]!.signCount = Number((await getKeyByCredentialId(node.deps.pool, credentialId()))!.sign_count);
    }
  });
});
