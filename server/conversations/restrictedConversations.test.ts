import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ConversationListResponse, ConversationResponse, ConversationView, GrantResponse } from '../../shared/api.ts';
import type { ErrorBody } from '../../shared/errors.ts';
import type { ChatStreamEvent } from '../../shared/events.ts';
import { query } from '../db/pool.ts';
import { enrollUser, errorCode, lastAudit, sessionIdOf, signIn, startTestNode, type TestClient, type TestNode } from '../test/harness.ts';
import { TestSocket } from '../test/wsClient.ts';

let node: TestNode;
type Enrolled = Awaited<ReturnType<typeof enrollUser>>;
let amy: Enrolled;
let ben: Enrolled;

beforeAll(async () => {
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000', CHAT_REQUESTS_PER_MINUTE: '1000' });
  amy = await enrollUser(node, { username: 'amy', password: 'a parcel of rogues here' });
  ben = await enrollUser(node, { username: 'ben', password: 'a basket of ripe figs' });
});
afterAll(async () => {
  await node.destroy();
});

async function unlock(client: TestClient, who: Enrolled): Promise<string> {
  const options = (await client.post<{ options: { challenge: string } }>('/api/verify-key-ownership/options')).body.options;
  const response = await client.post<GrantResponse>('/api/verify-key-ownership', {
    response: who.authenticator.assert(options),
    presenceMode: 'webhid',
    device: { vendorId: 1, productId: 2, productName: 'k' },
  });
  expect(response.status).toBe(200);
  return response.body.grant!.id;
}

async function lock(client: TestClient): Promise<void> {
  expect((await client.request('DELETE', '/api/grants/current', { reason: 'key_removed' })).status).toBe(204);
}

/** Posts to a streaming route; the events, or the error code it was refused with. */
async function stream(client: TestClient, path: string, body: unknown): Promise<{ status: number; cacheControl: string | null; events: ChatStreamEvent[]; error?: string }> {
  const response = await fetch(client.baseUrl + path, {
    method: 'POST',
    headers: { origin: client.origin, 'content-type': 'application/json', cookie: client.cookie! },
    body: JSON.stringify(body),
  });
  const cacheControl = response.headers.get('cache-control');
  if (!response.headers.get('content-type')?.includes('event-stream')) {
    return { status: response.status, cacheControl, events: [], error: ((await response.json()) as ErrorBody).error.code };
  }
  const events = (await response.text())
    .split('\n\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line.replace(/^data: /, '')) as ChatStreamEvent);
  return { status: response.status, cacheControl, events };
}

async function newConversation(client: TestClient, model: string): Promise<ConversationView> {
  const response = await client.post<{ conversation: ConversationView }>('/api/conversations', { model });
  expect(response.status).toBe(201);
  return response.body.conversation;
}

/** A restricted conversation of `who` with one exchange whose question is `secret`, made under a grant the caller keeps or ends. */
async function restrictedConversation(who: Enrolled, secret: string): Promise<ConversationView> {
  const conversation = await newConversation(who.client, 'demo-restricted');
  const sent = await stream(who.client, `/api/conversations/${conversation.id}/messages`, { content: secret, model: 'demo-restricted' });
  expect(sent.events.at(-1)).toMatchObject({ type: 'done' });
  expect(sent.cacheControl).toBe('no-store, no-transform');
  return conversation;
}

/** Every stored text column of conversations and messages, as the database's own reader sees them. */
async function storedText(): Promise<string> {
  const { rows } = await query<{ t: string }>(
    node.ownerPool(),
    't',
    `SELECT coalesce(string_agg(coalesce(title, '') || ' ' || coalesce(encode(title_ct, 'escape'), ''), ' '), '') AS t FROM conversation
     UNION ALL SELECT coalesce(string_agg(coalesce(content, '') || ' ' || coalesce(encode(content_ct, 'escape'), ''), ' '), '') FROM message`,
  );
  return rows.map((row) => row.t).join(' ');
}

describe('restricted conversations', () => {
  it('are read only under a live grant, audited with the grant, never cached, and locked in the list', async () => {
    const grantId = await unlock(amy.client, amy);
    const conversation = await restrictedConversation(amy, 'the harbour code is 4417');
    expect(conversation).toMatchObject({ restricted: true, restrictedModels: ['demo-restricted'], locked: false, title: 'New conversation' });

    const read = await amy.client.get<ConversationResponse>(`/api/conversations/${conversation.id}`);
    expect(read.status).toBe(200);
    expect(read.headers.get('cache-control')).toBe('no-store');
    expect(read.body.conversation).toMatchObject({ title: 'the harbour code is 4417', locked: false, restricted: true });
    expect(read.body.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(read.body.messages[0]!.content).toBe('the harbour code is 4417');
    expect(read.body.messages[1]!.content.length).toBeGreaterThan(0);
    // Queued in the audit outbox before the answer left; appended to the chain from there.
    await node.deps.auditOutbox.drain();
    expect(await lastAudit(node, 'conversation.read')).toMatchObject({
      outcome: 'success',
      model: 'demo-restricted',
      targetType: 'conversation',
      targetId: conversation.id,
      details: { grantId },
    });
    const list = await amy.client.get<ConversationListResponse>('/api/conversations');
    expect(list.headers.get('cache-control')).toBe('no-store');
    expect(list.body.conversations.find((c) => c.id === conversation.id)).toMatchObject({ title: 'the harbour code is 4417', locked: false });

    await lock(amy.client);
    const refused = await amy.client.get<ErrorBody & { messages?: unknown }>(`/api/conversations/${conversation.id}`);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(refused.body.error.code).toBe('GRANT_REQUIRED');
    expect(refused.body.error.conversation).toEqual({ ...read.body.conversation, title: null, locked: true });
    expect(JSON.stringify(refused.body)).not.toContain('4417');
    expect(refused.body.messages).toBeUndefined();
    expect(await lastAudit(node, 'conversation.read_denied')).toMatchObject({ outcome: 'denied', targetId: conversation.id, details: { reason: 'no_grant' } });

    const locked = await amy.client.get<ConversationListResponse>('/api/conversations');
    expect(locked.body.conversations.find((c) => c.id === conversation.id)).toEqual({ ...read.body.conversation, title: null, locked: true });
    expect(JSON.stringify(locked.body)).not.toContain('4417');
    expect(JSON.stringify(locked.body)).not.toContain('harbour');
  });

  it('stores no plaintext of restricted titles or messages', async () => {
    await unlock(amy.client, amy);
    const conversation = await restrictedConversation(amy, 'plaintext canary 7Q3Z');
    const { rows } = await query<{ title: string | null; title_ct: Buffer | null; kek_id: string | null }>(node.ownerPool(), 't', 'SELECT title, title_ct, kek_id FROM conversation WHERE id = $1', [conversation.id]);
    expect(rows[0]).toMatchObject({ title: null, kek_id: 'test' });
    expect(rows[0]!.title_ct!.length).toBeGreaterThan(29);
    const messages = await query<{ content: string | null; content_ct: Buffer | null }>(node.ownerPool(), 't', 'SELECT content, content_ct FROM message WHERE conversation_id = $1', [conversation.id]);
    expect(messages.rows.map((m) => [m.content, m.content_ct !== null])).toEqual([
      [null, true],
      [null, true],
    ]);
    expect(await storedText()).not.toContain('7Q3Z');
    // The schema refuses plaintext in an encrypted conversation, whoever writes it.
    await expect(query(node.deps.pool, 't', `INSERT INTO message (conversation_id, role, content, status) VALUES ($1, 'user', 'leak', 'complete')`, [conversation.id])).rejects.toMatchObject({ code: '23514' });
    await expect(query(node.deps.pool, 't', `UPDATE conversation SET title = 'leak' WHERE id = $1`, [conversation.id])).rejects.toMatchObject({ code: '23514' });
    await lock(amy.client);
  });

  it('is not read with another session’s grant, nor once the grant is gone or its key deactivated', async () => {
    await unlock(amy.client, amy);
    const conversation = await restrictedConversation(amy, 'second session test');
    const path = `/api/conversations/${conversation.id}`;

    // The same user in another browser, without a grant there: the first session's grant does not count.
    const other = await signIn(node, { username: 'amy', password: amy.password, authenticator: amy.authenticator });
    expect(errorCode(await other.get(path))).toBe('GRANT_REQUIRED');
    expect((await amy.client.get(path)).status).toBe(200);

    // The grant gone from Redis (as when it runs out).
    await node.deps.redis.del(`sgrant:${sessionIdOf(amy.client)}`);
    expect(errorCode(await amy.client.get(path))).toBe('GRANT_REQUIRED');

    // A live grant whose key was deactivated meanwhile (a revocation that never reached Redis).
    await unlock(amy.client, amy);
    expect((await amy.client.get(path)).status).toBe(200);
    await query(node.ownerPool(), 't', `UPDATE security_key SET status = 'deactivated' WHERE id = $1`, [amy.keyId]);
    node.deps.rows.keys.invalidate(amy.keyId);
    try {
      expect(errorCode(await amy.client.get(path))).toBe('GRANT_REQUIRED');
      expect(await lastAudit(node, 'conversation.read_denied')).toMatchObject({ targetId: conversation.id, details: { reason: 'key_not_active' } });
      expect((await amy.client.get<ConversationListResponse>('/api/conversations')).body.conversations.find((c) => c.id === conversation.id)).toMatchObject({ locked: true, title: null });
    } finally {
      await query(node.ownerPool(), 't', `UPDATE security_key SET status = 'active' WHERE id = $1`, [amy.keyId]);
      node.deps.rows.keys.invalidate(amy.keyId);
    }
    // Someone else's conversation stays not found, grant or not.
    await unlock(ben.client, ben);
    expect((await ben.client.get(path)).status).toBe(404);
    await lock(ben.client);
  });

  it('fails closed when the grant store cannot answer: 503 on open, locked in the list', async () => {
    await unlock(amy.client, amy);
    const conversation = await restrictedConversation(amy, 'redis is down');
    const spy = vi.spyOn(node.deps.grants, 'forSession').mockRejectedValue(new Error('Connection is closed.'));
    try {
      const refused = await amy.client.get(`/api/conversations/${conversation.id}`);
      expect(refused.status).toBe(503);
      expect(errorCode(refused)).toBe('GRANT_CHECK_UNAVAILABLE');
      expect(JSON.stringify(refused.body)).not.toContain('redis is down');
      const list = await amy.client.get<ConversationListResponse>('/api/conversations');
      expect(list.status).toBe(200);
      expect(list.body.conversations.find((c) => c.id === conversation.id)).toMatchObject({ locked: true, title: null });
    } finally {
      spy.mockRestore();
    }
    expect((await amy.client.get(`/api/conversations/${conversation.id}`)).status).toBe(200);
    await lock(amy.client);
  });

  it('needs a grant covering every restricted model it used that is still enabled', async () => {
    await unlock(amy.client, amy);
    const conversation = await restrictedConversation(amy, 'two models');
    // A restricted model added after this grant was made: the grant does not cover it.
    await query(node.ownerPool(), 't', `INSERT INTO model (id, display_name, provider, upstream_model, tier) VALUES ('vault', 'Vault', 'demo', 'demo', 'restricted')`);
    await query(node.ownerPool(), 't', `UPDATE conversation SET restricted_models = restricted_models || '{vault}' WHERE id = $1`, [conversation.id]);
    node.deps.rows.models.invalidate('vault');
    const path = `/api/conversations/${conversation.id}`;
    expect(errorCode(await amy.client.get(path))).toBe('GRANT_REQUIRED');
    expect(await lastAudit(node, 'conversation.read_denied')).toMatchObject({ details: { reason: 'models_not_covered' } });
    // A new grant covers both.
    await unlock(amy.client, amy);
    expect((await amy.client.get(path)).status).toBe(200);
    // Once vault is disabled, a grant that lacks it covers the conversation again.
    await lock(amy.client);
    await query(node.ownerPool(), 't', `UPDATE model SET enabled = false WHERE id = 'vault'`);
    node.deps.rows.models.invalidate('vault');
    expect(errorCode(await amy.client.get(path))).toBe('GRANT_REQUIRED'); // no grant at all still locks it
    await query(node.ownerPool(), 't', `UPDATE model SET enabled = true, tier = 'standard' WHERE id = 'vault'`);
    node.deps.rows.models.invalidate('vault');
    await unlock(amy.client, amy);
    await query(node.ownerPool(), 't', `UPDATE model SET tier = 'restricted' WHERE id = 'vault'`);
    node.deps.rows.models.invalidate('vault');
    // The grant made while vault was standard lacks it: not covered.
    expect(errorCode(await amy.client.get(path))).toBe('GRANT_REQUIRED');
    await query(node.ownerPool(), 't', `UPDATE model SET enabled = false WHERE id = 'vault'`);
    node.deps.rows.models.invalidate('vault');
    expect((await amy.client.get(path)).status).toBe(200);
    await query(node.ownerPool(), 't', `DELETE FROM model WHERE id = 'vault'`);
    node.deps.rows.models.invalidate('vault');
    await lock(amy.client);
  });

  it('refuses rename, send, retry and edit without cover, and changes nothing; delete needs no grant', async () => {
    await unlock(amy.client, amy);
    const conversation = await restrictedConversation(amy, 'do not touch');
    await lock(amy.client);
    const path = `/api/conversations/${conversation.id}`;
    const rename = await amy.client.patch(path, { title: 'Renamed' });
    expect(errorCode(rename)).toBe('GRANT_REQUIRED');
    expect(rename.headers.get('cache-control')).toBe('no-store');
    // Even with a standard model: the history would be decrypted to be sent.
    expect((await stream(amy.client, `${path}/messages`, { content: 'more', model: 'demo-standard' })).error).toBe('GRANT_REQUIRED');
    expect((await stream(amy.client, `${path}/retry`, { model: 'demo-standard' })).error).toBe('GRANT_REQUIRED');
    expect((await stream(amy.client, `${path}/edit`, { content: 'changed', model: 'demo-standard' })).error).toBe('GRANT_REQUIRED');

    await unlock(amy.client, amy);
    const after = (await amy.client.get<ConversationResponse>(path)).body;
    expect(after.conversation.title).toBe('do not touch');
    expect(after.messages.map((m) => m.content.slice(0, 12))).toEqual(['do not touch', expect.any(String)]);
    expect(after.messages).toHaveLength(2);

    // Under cover: renamed (stored encrypted), answered with a standard model, still restricted.
    const renamed = await amy.client.patch<{ conversation: ConversationView }>(path, { title: 'Renamed under grant' });
    expect(renamed.body.conversation).toMatchObject({ title: 'Renamed under grant', restricted: true, locked: false });
    const standard = await stream(amy.client, `${path}/messages`, { content: 'a standard follow-up', model: 'demo-standard' });
    expect(standard.events.at(-1)).toMatchObject({ type: 'done' });
    expect(standard.cacheControl).toBe('no-store, no-transform');
    expect(await storedText()).not.toContain('Renamed under grant');
    expect(await storedText()).not.toContain('standard follow-up');
    const read = (await amy.client.get<ConversationResponse>(path)).body;
    expect(read.conversation).toMatchObject({ title: 'Renamed under grant', model: 'demo-standard', restricted: true });
    expect(read.messages.map((m) => m.content.slice(0, 20))).toEqual(['do not touch', expect.any(String), 'a standard follow-up', expect.any(String)]);
    expect((await stream(amy.client, `${path}/retry`, {})).events.at(-1)).toMatchObject({ type: 'done' });
    expect((await stream(amy.client, `${path}/edit`, { content: 'an edited follow-up', model: 'demo-restricted' })).events.at(-1)).toMatchObject({ type: 'done' });
    expect((await amy.client.get<ConversationResponse>(path)).body.messages[2]!.content).toBe('an edited follow-up');
    expect(await storedText()).not.toContain('edited follow-up');

    await lock(amy.client);
    expect((await amy.client.request('DELETE', path)).status).toBe(204);
    expect((await amy.client.get(path)).status).toBe(404);
  });

  it('encrypts a standard conversation, title and history, when a restricted model first answers in it', async () => {
    const conversation = await newConversation(amy.client, 'demo-standard');
    const path = `/api/conversations/${conversation.id}`;
    expect((await stream(amy.client, `${path}/messages`, { content: 'ordinary words K9F2', model: 'demo-standard' })).events.at(-1)).toMatchObject({ type: 'done' });
    expect(await storedText()).toContain('K9F2');
    // Refused without a grant: still standard and readable.
    expect((await stream(amy.client, `${path}/messages`, { content: 'now restricted', model: 'demo-restricted' })).error).toBe('GRANT_REQUIRED');
    expect((await amy.client.get<ConversationResponse>(path)).body.conversation.restricted).toBe(false);

    await unlock(amy.client, amy);
    expect((await stream(amy.client, `${path}/messages`, { content: 'now restricted X5', model: 'demo-restricted' })).events.at(-1)).toMatchObject({ type: 'done' });
    expect(await storedText()).not.toContain('K9F2');
    expect(await storedText()).not.toContain('ordinary words');
    const read = (await amy.client.get<ConversationResponse>(path)).body;
    expect(read.conversation).toMatchObject({ title: 'ordinary words K9F2', restricted: true, restrictedModels: ['demo-restricted'] });
    expect(read.messages.map((m) => m.content.slice(0, 16))).toEqual(['ordinary words K', expect.any(String), 'now restricted X', expect.any(String)]);
    await lock(amy.client);
    expect(errorCode(await amy.client.get(path))).toBe('GRANT_REQUIRED');
  });

  it('refuses, with a stable error and an alarm, a ciphertext moved to another row', async () => {
    await unlock(amy.client, amy);
    const first = await restrictedConversation(amy, 'first one');
    const second = await restrictedConversation(amy, 'second one');
    const owner = node.ownerPool();
    const ids = async (id: string) => (await query<{ id: string }>(owner, 't', 'SELECT id FROM message WHERE conversation_id = $1 ORDER BY created_at, id', [id])).rows.map((r) => r.id);
    const [firstQuestion, firstAnswer] = await ids(first.id);
    const [secondQuestion] = await ids(second.id);

    // A message's ciphertext copied into another conversation's message: bound to its conversation and id.
    await query(owner, 't', 'UPDATE message SET content_ct = (SELECT content_ct FROM message WHERE id = $1) WHERE id = $2', [firstQuestion, secondQuestion]);
    const moved = await amy.client.get(`/api/conversations/${second.id}`);
    expect(moved.status).toBe(422);
    expect(errorCode(moved)).toBe('CONVERSATION_UNREADABLE');
    expect(JSON.stringify(moved.body)).not.toContain('first one');

    // Within one conversation, from the question to the answer: bound to the message id and role too.
    await query(owner, 't', 'UPDATE message SET content_ct = (SELECT content_ct FROM message WHERE id = $1) WHERE id = $2', [firstQuestion, firstAnswer]);
    expect(errorCode(await amy.client.get(`/api/conversations/${first.id}`))).toBe('CONVERSATION_UNREADABLE');

    // A data key or a title copied from another conversation.
    const third = await restrictedConversation(amy, 'third one');
    await query(owner, 't', 'UPDATE conversation SET title_ct = (SELECT title_ct FROM conversation WHERE id = $1) WHERE id = $2', [first.id, third.id]);
    expect(errorCode(await amy.client.get(`/api/conversations/${third.id}`))).toBe('CONVERSATION_UNREADABLE');
    // The list still answers, that row without a title.
    const list = await amy.client.get<ConversationListResponse>('/api/conversations');
    expect(list.status).toBe(200);
    expect(list.body.conversations.find((c) => c.id === third.id)).toMatchObject({ title: null, locked: true });
    const fourth = await restrictedConversation(amy, 'fourth one');
    await query(owner, 't', 'UPDATE conversation SET wrapped_dek = (SELECT wrapped_dek FROM conversation WHERE id = $1) WHERE id = $2', [second.id, fourth.id]);
    expect(errorCode(await amy.client.get(`/api/conversations/${fourth.id}`))).toBe('CONVERSATION_UNREADABLE');
    // Deleting is how the owner gets rid of them; the rest of the list reads again.
    for (const id of [first.id, second.id, third.id, fourth.id]) await amy.client.request('DELETE', `/api/conversations/${id}`);
    expect((await amy.client.get('/api/conversations')).status).toBe(200);
    await lock(amy.client);
  });

  it('sends nothing of a restricted conversation over the WebSocket, to its owner or to the admins’ live feed', async () => {
    const admin = await enrollUser(node, { username: 'ada', role: 'admin' });
    const owner = await TestSocket.open(node.url, { cookie: amy.client.cookie, origin: amy.client.origin });
    const feed = await TestSocket.open(node.url, { cookie: admin.client.cookie, origin: admin.client.origin });
    try {
      await unlock(amy.client, amy);
      const conversation = await restrictedConversation(amy, 'socket canary 8WJD');
      await amy.client.get(`/api/conversations/${conversation.id}`);
      await amy.client.patch(`/api/conversations/${conversation.id}`, { title: 'socket title 8WJD' });
      await node.deps.auditOutbox.drain();
      await lock(amy.client);
      await amy.client.get(`/api/conversations/${conversation.id}`);
      // The sockets work: the owner hears the grant end, the feed the audit events.
      await owner.next('GRANT_REVOKED');
      await expect.poll(() => feed.events.some((e) => e.type === 'SECURITY_EVENT' && e.event.action === 'conversation.read_denied')).toBe(true);
      expect(feed.events.some((e) => e.type === 'SECURITY_EVENT' && e.event.action === 'conversation.read')).toBe(true);
      expect(JSON.stringify([...owner.events, ...feed.events])).not.toContain('8WJD');
    } finally {
      owner.close();
      feed.close();
    }
  });

  it('leaves nothing of a restricted conversation in the logs, whatever happens to it', async () => {
    // Every log call of the node (it has no child loggers), whatever its level: pino's methods are replaced.
    const logged: unknown[] = [];
    const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
    const spies = levels.map((level) => vi.spyOn(node.deps.log, level).mockImplementation(((...args: unknown[]) => void logged.push(args)) as never));
    try {
      await unlock(amy.client, amy);
      const conversation = await restrictedConversation(amy, 'log canary 5TQX');
      const path = `/api/conversations/${conversation.id}`;
      await amy.client.get(path);
      await amy.client.get('/api/conversations');
      await amy.client.patch(path, { title: 'title canary 5TQX' });
      await lock(amy.client);
      await amy.client.get(path);
      await stream(amy.client, `${path}/messages`, { content: 'refused canary 5TQX', model: 'demo-standard' });
      // A ciphertext that no longer opens: the alarm names the conversation, not its content.
      await unlock(amy.client, amy);
      await query(node.ownerPool(), 't', `UPDATE message SET content_ct = content_ct || '\\x00'::bytea WHERE conversation_id = $1 AND role = 'user'`, [conversation.id]);
      expect(errorCode(await amy.client.get(path))).toBe('CONVERSATION_UNREADABLE');
      await lock(amy.client);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const text = JSON.stringify(logged, (_key, value: unknown) => (value instanceof Error ? { ...value, message: value.message } : value));
    expect(text).toContain('conversation_unreadable');
    expect(text).not.toContain('5TQX');
    expect(text).not.toContain('canary');
  });
});
