import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationResponse, ConversationView, DataKeysResponse, GrantResponse } from '../../shared/api.ts';
import type { ChatStreamEvent } from '../../shared/events.ts';
import { PG_INSUFFICIENT_PRIVILEGE, pgErrorCode, query } from '../db/pool.ts';
import { TEST_DATA_ENCRYPTION_KEYS, enrollUser, errorCode, startSiblingNode, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';
import { dataKeyCommand } from './dataKeyCommand.ts';
import { ENCRYPT_LOCK_KEY, MissingKekError, dataKeyState, encryptRestrictedConversations, rewrapDataKeys } from './dataKeyJobs.ts';

let node: TestNode;
type Enrolled = Awaited<ReturnType<typeof enrollUser>>;
let amy: Enrolled;
const NEW_KEK = `k2:${Buffer.alloc(32, 9).toString('base64')}`;

beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000', CHAT_REQUESTS_PER_MINUTE: '1000' });
  amy = await enrollUser(node, { username: 'amy', password: 'a parcel of rogues here' });
});
afterAll(async () => {
  await node.destroy();
});

async function unlock(client: TestClient): Promise<void> {
  const options = (await client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body.options;
  const response = await client.post<GrantResponse>('/api/verify-key-ownership', { response: amy.authenticator.assert(options), presenceMode: 'webhid', device: { vendorId: 1, productId: 2, productName: 'k' } });
  expect(response.status).toBe(200);
}

async function restrictedConversation(client: TestClient, text: string): Promise<string> {
  const { conversation } = (await client.post<{ conversation: ConversationView }>('/api/conversations', { model: 'demo-restricted' })).body;
  const response = await fetch(`${client.baseUrl}/api/conversations/${conversation.id}/messages`, {
    method: 'POST',
    headers: { origin: client.origin, 'content-type': 'application/json', cookie: client.cookie! },
    body: JSON.stringify({ content: text, model: 'demo-restricted' }),
  });
  const events = (await response.text()).split('\n\n').filter(Boolean).map((line) => JSON.parse(line.slice(6)) as ChatStreamEvent);
  expect(events.at(-1)).toMatchObject({ type: 'done' });
  return conversation.id;
}

/** The statements of sql/000023 that mark existing restricted conversations and add the NOT VALID check, as written there. */
function migrationStatement(start: string): string {
  const sql = readFileSync(new URL('../../sql/000023_conversation_encryption.sql', import.meta.url), 'utf8');
  const at = sql.indexOf(start);
  expect(at).toBeGreaterThan(-1);
  return sql.slice(at, sql.indexOf(';', at) + 1);
}

/**
 * Conversations as they were stored before sql/000023: plaintext, and restricted only by the
 * models that answered in them. Its marking UPDATE is then run as the migration runs it.
 */
async function seedLegacyConversations(count: number): Promise<{ restricted: string[]; standard: string }> {
  const owner = node.ownerPool();
  await query(owner, 't', 'ALTER TABLE conversation DROP CONSTRAINT conversation_restricted_is_encrypted');
  const insert = async (i: number, model: string, answeredBy: string) => {
    const { rows } = await query<{ id: string }>(owner, 't', `INSERT INTO conversation (user_id, title, model_id) VALUES ($1, $2, $3) RETURNING id`, [amy.userId, `legacy title ${i} LGCY`, model]);
    const id = rows[0]!.id;
    await query(owner, 't', `INSERT INTO message (conversation_id, role, content, status) VALUES ($1, 'user', $2, 'complete')`, [id, `legacy question ${i} LGCY`]);
    await query(owner, 't', `INSERT INTO message (conversation_id, role, content, model_id, status) VALUES ($1, 'assistant', $2, $3, 'complete')`, [id, `legacy answer ${i} LGCY`, answeredBy]);
    return id;
  };
  const restricted: string[] = [];
  for (let i = 0; i < count; i++) restricted.push(await insert(i, i % 2 ? 'demo-restricted' : 'demo-standard', i % 2 ? 'demo-standard' : 'demo-restricted'));
  const standard = await insert(99, 'demo-standard', 'demo-standard');
  await query(owner, 't', migrationStatement('UPDATE conversation c SET restricted_models'));
  await query(owner, 't', migrationStatement('ALTER TABLE conversation\n  ADD CONSTRAINT conversation_restricted_is_encrypted'));
  return { restricted, standard };
}

/** Whether PostgreSQL has validated conversation_restricted_is_encrypted, read as the owner from the catalog. */
async function constraintValidated(): Promise<boolean> {
  const { rows } = await query<{ validated: boolean }>(
    node.ownerPool(),
    't',
    `SELECT convalidated AS validated FROM pg_constraint WHERE conrelid = 'conversation'::regclass AND conname = 'conversation_restricted_is_encrypted'`,
  );
  expect(rows).toHaveLength(1);
  return rows[0]!.validated;
}

async function plaintextLeft(): Promise<number> {
  const { rows } = await query<{ n: string }>(node.ownerPool(), 't', `SELECT (SELECT count(*) FROM conversation WHERE title LIKE '%LGCY%') + (SELECT count(*) FROM message WHERE content LIKE '%LGCY%') AS n`);
  return Number(rows[0]!.n);
}

describe('encrypting existing restricted conversations', () => {
  it('encrypts what the migration marked, in resumable batches, once, one process at a time', async () => {
    const { restricted, standard } = await seedLegacyConversations(5);
    expect(await constraintValidated()).toBe(false);
    const marked = await query<{ id: string; restricted_models: string[] }>(node.ownerPool(), 't', 'SELECT id, restricted_models FROM conversation WHERE id = ANY($1)', [[...restricted, standard]]);
    expect(Object.fromEntries(marked.rows.map((r) => [r.id, r.restricted_models]))).toEqual({ ...Object.fromEntries(restricted.map((id) => [id, ['demo-restricted']])), [standard]: [] });
    expect((await dataKeyState(node.deps)).plaintextRestricted).toBe(5);

    // Still plaintext, and gated all the same.
    expect(errorCode(await amy.client.get(`/api/conversations/${restricted[0]}`))).toBe('GRANT_REQUIRED');
    await unlock(amy.client);
    expect((await amy.client.get<ConversationResponse>(`/api/conversations/${restricted[0]}`)).body.messages[0]!.content).toBe('legacy question 0 LGCY');
    // Renamed before the job reaches it: encrypted in that step, never written in plaintext.
    const renamed = await amy.client.patch<{ conversation: ConversationView }>(`/api/conversations/${restricted[4]}`, { title: 'renamed before the job' });
    expect(renamed.status).toBe(200);
    expect((await dataKeyState(node.deps)).plaintextRestricted).toBe(4);

    // Another process holds the job: this one does nothing.
    const other = await node.ownerPool().connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [ENCRYPT_LOCK_KEY]);
      expect(await encryptRestrictedConversations(node.deps)).toEqual({ ran: false });
    } finally {
      await other.query('SELECT pg_advisory_unlock($1)', [ENCRYPT_LOCK_KEY]);
      other.release();
    }

    // Interrupted after its first batch of two: those two stay encrypted, the rest waits.
    const interrupted = encryptRestrictedConversations(node.deps, {
      batchSize: 2,
      onBatch: () => {
        throw new Error('interrupted');
      },
    });
    await expect(interrupted).rejects.toThrow('interrupted');
    expect((await dataKeyState(node.deps)).plaintextRestricted).toBe(2);
    expect(await plaintextLeft()).toBe(2 * 3 + 3);
    expect(await constraintValidated()).toBe(false);

    // Run again: it resumes and finishes, then has PostgreSQL validate the constraint over every
    // row; the standard conversation stays as it was.
    const progress: number[] = [];
    expect(await encryptRestrictedConversations(node.deps, { batchSize: 1, onBatch: (done) => progress.push(done) })).toEqual({ ran: true, done: 2, constraintValidated: true });
    expect(progress).toEqual([1, 2]);
    expect(await plaintextLeft()).toBe(3); // the standard one's title and two messages
    expect(await dataKeyState(node.deps)).toMatchObject({ plaintextRestricted: 0, encryptionConstraintValidated: true });
    expect(await constraintValidated()).toBe(true);
    // And once more: nothing to do, the constraint valid already.
    expect(await encryptRestrictedConversations(node.deps)).toEqual({ ran: true, done: 0, constraintValidated: true });

    for (const [i, id] of restricted.entries()) {
      const read = (await amy.client.get<ConversationResponse>(`/api/conversations/${id}`)).body;
      expect(read.conversation).toMatchObject({ title: i === 4 ? 'renamed before the job' : `legacy title ${i} LGCY`, restricted: true });
      expect(read.messages.map((m) => m.content)).toEqual([`legacy question ${i} LGCY`, `legacy answer ${i} LGCY`]);
    }
    expect((await amy.client.get<ConversationResponse>(`/api/conversations/${standard}`)).body.conversation.restricted).toBe(false);
    // Validated, the table refuses a restricted conversation in plaintext, even from the owner.
    const refused = await query(node.ownerPool(), 't', `UPDATE conversation SET restricted_models = '{demo-restricted}' WHERE id = $1`, [standard]).then(
      () => null,
      (error: unknown) => error as Error,
    );
    expect(refused?.message).toMatch(/conversation_restricted_is_encrypted/);
  });

  it('leaves the constraint NOT VALID while a restricted conversation is still in plaintext, and validates it on the run that encrypts the last one', async () => {
    const { restricted } = await seedLegacyConversations(1);
    // Another transaction holds the row: the job skips it (SKIP LOCKED), so it finds nothing to
    // do, yet a plaintext row is left; it must neither validate nor fail.
    const holder = await node.ownerPool().connect();
    const lines: string[] = [];
    const out = { log: (line: string) => lines.push(line), error: (line: string) => lines.push(line) };
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM conversation WHERE id = $1 FOR UPDATE', [restricted[0]]);
      expect(await encryptRestrictedConversations(node.deps)).toEqual({ ran: true, done: 0, constraintValidated: false });
      expect(await constraintValidated()).toBe(false);
      // The CLI says so, and exits 1.
      expect(await dataKeyCommand(node.deps, 'encrypt-conversations', out)).toBe(1);
      expect(lines).toContain('Restricted conversations still in plaintext: 1');
      expect(lines.some((line) => line.includes('not validated yet'))).toBe(true);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    lines.length = 0;
    expect(await dataKeyCommand(node.deps, 'encrypt-conversations', out)).toBe(0);
    expect(lines).toContain('1 conversation encrypted.');
    expect(lines.some((line) => line.includes('conversation_restricted_is_encrypted: validated'))).toBe(true);
    expect(await constraintValidated()).toBe(true);
  });

  it('is validated by a node at start-up, in the background, once nothing is left in plaintext', async () => {
    await seedLegacyConversations(2);
    expect(await constraintValidated()).toBe(false);
    const sibling = await startSiblingNode(node, { SIGNIN_RATE_PER_MINUTE: '1000' });
    // Closing a node waits for its start-up encryption job.
    await sibling.destroy();
    expect(await dataKeyState(node.deps)).toMatchObject({ plaintextRestricted: 0, encryptionConstraintValidated: true });
    expect(await constraintValidated()).toBe(true);
  });

  it('validates through conversation_encryption_validate() because the server role may not: it owns no table', async () => {
    // What the job would have to do without sql/000026.
    const direct = await query(node.deps.pool, 't', 'ALTER TABLE conversation VALIDATE CONSTRAINT conversation_restricted_is_encrypted').then(
      () => null,
      (error: unknown) => error,
    );
    expect(pgErrorCode(direct)).toBe(PG_INSUFFICIENT_PRIVILEGE);
    expect((direct as Error).message).toBe('must be owner of table conversation');
    // The function runs as the owner, with a pinned search_path, for argus_app only.
    const { rows } = await query<{ definer: boolean; config: string[] | null; public_exec: boolean; app_exec: boolean }>(
      node.deps.pool,
      't',
      `SELECT p.prosecdef AS definer, p.proconfig AS config,
              has_function_privilege('public', p.oid, 'EXECUTE') AS public_exec,
              has_function_privilege('argus_app', p.oid, 'EXECUTE') AS app_exec
         FROM pg_proc p WHERE p.oid = 'conversation_encryption_validate()'::regprocedure`,
    );
    expect(rows).toEqual([{ definer: true, config: ['search_path=pg_catalog, public, pg_temp'], public_exec: false, app_exec: true }]);
  });
});

describe('rotating the key-encryption key', () => {
  it('re-wraps every data key under the new KEK, keeps every conversation readable, and shows admins where it stands', async () => {
    await unlock(amy.client);
    const ids = [await restrictedConversation(amy.client, 'rotate me one'), await restrictedConversation(amy.client, 'rotate me two'), await restrictedConversation(amy.client, 'rotate me three')];
    const before = await dataKeyState(node.deps);
    expect(before).toMatchObject({ currentKekId: 'test', rotationComplete: true });

    // k2 is the new current key; the old one stays listed until the rotation is done.
    const rotating = await startSiblingNode(node, { SIGNIN_RATE_PER_MINUTE: '1000', DATA_ENCRYPTION_KEYS: `${NEW_KEK},${TEST_DATA_ENCRYPTION_KEYS}` });
    try {
      const client = amy.client.sameSessionOn(rotating);
      // Before the job: old data keys still read, new conversations get k2.
      expect((await client.get(`/api/conversations/${ids[0]}`)).status).toBe(200);
      const admin = await enrollUser(rotating, { username: 'ada', role: 'admin' });
      const state = (await admin.client.get<DataKeysResponse>('/api/admin/data-keys')).body;
      expect(state).toMatchObject({ currentKekId: 'k2', configuredKekIds: ['k2', 'test'], rotationComplete: false });
      expect(state.perKek).toContainEqual({ kekId: 'test', conversations: before.perKek.find((k) => k.kekId === 'test')!.conversations, current: false, configured: true });
      expect((await amy.client.sameSessionOn(rotating).get('/api/admin/data-keys')).status).toBe(403);

      // A node that lacks the old key cannot rotate: it says which key is missing.
      const onlyNew = await startSiblingNode(node, { SIGNIN_RATE_PER_MINUTE: '1000', DATA_ENCRYPTION_KEYS: NEW_KEK });
      try {
        await expect(rewrapDataKeys(onlyNew.deps)).rejects.toBeInstanceOf(MissingKekError);
        expect(errorCode(await amy.client.sameSessionOn(onlyNew).get(`/api/conversations/${ids[0]}`))).toBe('CONVERSATION_UNREADABLE');
      } finally {
        await onlyNew.destroy();
      }

      const done: number[] = [];
      const result = await rewrapDataKeys(rotating.deps, { batchSize: 2, onBatch: (n) => done.push(n) });
      expect(result).toMatchObject({ ran: true });
      expect(done.at(-1)).toBe(before.perKek.find((k) => k.kekId === 'test')!.conversations);
      const after = (await admin.client.get<DataKeysResponse>('/api/admin/data-keys')).body;
      expect(after).toMatchObject({ currentKekId: 'k2', rotationComplete: true, plaintextRestricted: 0, encryptionConstraintValidated: true });
      expect(after.perKek.map((k) => k.kekId)).toEqual(['k2']);
      expect(await rewrapDataKeys(rotating.deps)).toEqual({ ran: true, done: 0 });
    } finally {
      await rotating.destroy();
    }
    // Now a node with the new key alone reads every one of them, and one with the old key alone none.
    const rotated = await startSiblingNode(node, { SIGNIN_RATE_PER_MINUTE: '1000', DATA_ENCRYPTION_KEYS: NEW_KEK });
    try {
      for (const [i, id] of ids.entries()) {
        const read = (await amy.client.sameSessionOn(rotated).get<ConversationResponse>(`/api/conversations/${id}`)).body;
        expect(read.messages[0]!.content).toBe(`rotate me ${['one', 'two', 'three'][i]}`);
      }
    } finally {
      await rotated.destroy();
    }
    expect(errorCode(await amy.client.get(`/api/conversations/${ids[0]}`))).toBe('CONVERSATION_UNREADABLE');
  });
});
