import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConversationView, MessageView } from '../../../shared/api.ts';
import { conversationView, modelView, standardConversation } from './chatTestKit.ts';
import { createConversation, type ConversationOptions, type LockedConversation } from './conversation.ts';

// The router's query() and action() need a browser; the conversation only needs the requests underneath.
vi.mock('@solidjs/router', () => ({
  query: <T>(fn: T) => Object.assign(fn as object, { key: 'query' }),
  action: <T>(fn: T) => fn,
  json: <T>(value: T) => value,
}));

const SECRET_QUESTION = 'What are the launch codes?';
const SECRET_ANSWER = 'The launch codes are 0000.';

/** The restricted conversation under test: its title is as secret as its messages. */
const view = (change: Partial<ConversationView> = {}) => conversationView({ title: 'Launch codes', ...change });

const message = (id: string, role: MessageView['role'], content: string): MessageView => ({
  id,
  role,
  content,
  model: role === 'assistant' ? 'demo-restricted' : null,
  status: 'complete',
  note: null,
  createdAt: '2026-12-06T10:05:00Z',
});

const restrictedModel = modelView('demo-restricted', 'restricted', { displayName: 'Demo Restricted', unlocked: true });

const readable = () =>
  Response.json({ conversation: view(), messages: [message('m1', 'user', SECRET_QUESTION), message('m2', 'assistant', SECRET_ANSWER)] });

const refused = (conversation: ConversationView | undefined = view({ title: null, locked: true })) =>
  Response.json(
    { error: { code: 'GRANT_REQUIRED', message: 'Unlock restricted models to read this conversation.', conversation } },
    { status: 403 },
  );

/** Lets the pending fetches and their `.then`s run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function setUp(change: Partial<ConversationOptions> = {}) {
  let covered = true;
  const locks: LockedConversation[] = [];
  const conversation = createConversation({
    canRead: (opened) => covered || !opened.restricted,
    onGrantRequired: () => undefined,
    onCreated: () => undefined,
    onOpened: () => undefined,
    onLocked: (locked) => locks.push(locked),
    onChanged: () => undefined,
    ...change,
  });
  return { conversation, locks, setCovered: (value: boolean) => (covered = value) };
}

/** Everything of the conversation this module holds, as text: where restricted words must not be. */
const held = (conversation: ReturnType<typeof setUp>['conversation']) =>
  JSON.stringify({ entries: conversation.entries, current: conversation.current(), locked: conversation.locked() });

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('a restricted conversation opened without a grant', () => {
  it('shows its locked metadata from the GRANT_REQUIRED refusal: no title, no messages', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => refused()));
    const { conversation, locks } = setUp();
    conversation.open('c1');
    await settle();
    expect(conversation.loadError()).toBeUndefined();
    expect(conversation.locked()).toEqual({ conversation: view({ title: null, locked: true }), ended: false });
    expect(conversation.current()?.title).toBeNull();
    expect(conversation.entries).toEqual([]);
    expect(locks).toHaveLength(1);
    // The read asks the browser to keep nothing of it.
    expect(vi.mocked(fetch).mock.calls[0]![1]).toMatchObject({ method: 'GET', cache: 'no-store' });
  });

  it('is locked even when the refusal carries no metadata', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => refused(undefined)));
    const { conversation } = setUp();
    conversation.open('c1');
    await settle();
    expect(conversation.locked()?.conversation).toMatchObject({ id: 'c1', title: null, restricted: true, locked: true });
  });

  it('takes no message while locked', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => refused()));
    const { conversation } = setUp();
    conversation.open('c1');
    await settle();
    expect(await conversation.send(restrictedModel, 'hello')).toBe(false);
    expect(conversation.entries).toEqual([]);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('is read again by reveal once a grant covers it, in one read however often it is asked', async () => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValueOnce(refused()).mockResolvedValueOnce(readable()));
    const { conversation } = setUp();
    conversation.open('c1');
    await settle();
    const [first, second] = await Promise.all([conversation.reveal(), conversation.reveal()]);
    expect([first, second]).toEqual([true, true]);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(conversation.locked()).toBeUndefined();
    expect(conversation.current()?.title).toBe('Launch codes');
    expect(conversation.entries.map((entry) => entry.text)).toEqual([SECRET_QUESTION, SECRET_ANSWER]);
  });
});

describe('reading a locked conversation again', () => {
  it('stays locked, saying why, when the read fails', async () => {
    vi.stubGlobal(
      'fetch',
      vi
        .fn()
        .mockResolvedValueOnce(refused())
        .mockResolvedValueOnce(Response.json({ error: { code: 'SERVICE_UNAVAILABLE', message: 'Try again.' } }, { status: 503 })),
    );
    const { conversation } = setUp();
    conversation.open('c1');
    await settle();
    expect(await conversation.reveal()).toBe(false);
    expect(conversation.locked()).toBeDefined();
    expect(conversation.loadError()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(conversation.entries).toEqual([]);
  });

  it('stays locked when the server still refuses it (the grant does not cover its model)', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => refused()));
    const { conversation } = setUp();
    conversation.open('c1');
    await settle();
    expect(await conversation.reveal()).toBe(false);
    expect(conversation.locked()?.conversation.title).toBeNull();
    expect(conversation.loadError()).toBeUndefined();
  });
});

describe('the grant ending while a restricted conversation is open', () => {
  it('removes its messages and title at once and shows it locked', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => readable()));
    const { conversation, locks } = setUp();
    conversation.open('c1');
    await settle();
    expect(conversation.entries).toHaveLength(2);
    conversation.lock();
    expect(conversation.entries).toEqual([]);
    expect(conversation.locked()).toEqual({ conversation: view({ title: null, locked: true }), ended: true });
    expect(held(conversation)).not.toContain(SECRET_QUESTION);
    expect(held(conversation)).not.toContain(SECRET_ANSWER);
    expect(held(conversation)).not.toContain('Launch codes');
    expect(locks.map((locked) => locked.ended)).toEqual([true]);
  });

  it('leaves a standard conversation as it is', async () => {
    const standard = standardConversation({ title: 'Lunch' });
    vi.stubGlobal('fetch', vi.fn(async () => Response.json({ conversation: standard, messages: [message('m1', 'user', 'Lunch?')] })));
    const { conversation } = setUp();
    conversation.open('c1');
    await settle();
    conversation.lock();
    expect(conversation.locked()).toBeUndefined();
    expect(conversation.entries.map((entry) => entry.text)).toEqual(['Lunch?']);
  });

  it('shows locked a read answered after the grant here ended (the server had not heard yet)', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => readable()));
    const { conversation, setCovered } = setUp();
    conversation.open('c1');
    setCovered(false);
    await settle();
    expect(conversation.locked()?.ended).toBe(false);
    expect(held(conversation)).not.toContain(SECRET_ANSWER);
  });

  it('stops an answer streaming in, and nothing of it comes back when more of it arrives', async () => {
    let stream!: ReadableStreamDefaultController<Uint8Array>;
    const encoder = new TextEncoder();
    const chunk = (event: object) => stream.enqueue(encoder.encode(`data: ${JSON.stringify(event)}\n\n`));
    let signal: AbortSignal | undefined;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (path: string, init: RequestInit) => {
        if (init.method === 'GET') return readable();
        signal = init.signal ?? undefined;
        const body = new ReadableStream<Uint8Array>({ start: (controller) => void (stream = controller) });
        return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
      }),
    );
    const { conversation } = setUp();
    conversation.open('c1');
    await settle();
    const sent = conversation.send(restrictedModel, 'And the backup codes?');
    await settle();
    chunk({ type: 'start', userMessageId: 'm3', assistantMessageId: 'm4' });
    chunk({ type: 'delta', text: 'The backup codes are ' });
    await settle();
    expect(conversation.entries.at(-1)?.text).toBe('The backup codes are ');

    conversation.lock();
    expect(signal?.aborted).toBe(true);
    expect(conversation.entries).toEqual([]);
    // A body that does not stop at once (it is a mock) still writes nothing back.
    chunk({ type: 'delta', text: '1234.' });
    stream.close();
    await sent;
    expect(conversation.entries).toEqual([]);
    expect(conversation.streaming()).toBe(false);
    expect(held(conversation)).not.toContain('backup codes');
  });

  it('locks as soon as a restricted answer starts in a conversation no grant here covers', async () => {
    const standard = standardConversation({ title: 'Plans' });
    let stream!: ReadableStreamDefaultController<Uint8Array>;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (path: string, init: RequestInit) => {
        if (init.method === 'GET') return Response.json({ conversation: standard, messages: [] });
        const body = new ReadableStream<Uint8Array>({ start: (controller) => void (stream = controller) });
        return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
      }),
    );
    const { conversation, setCovered } = setUp();
    conversation.open('c1');
    await settle();
    const sent = conversation.send(restrictedModel, 'Secret plan');
    await settle();
    setCovered(false);
    stream.enqueue(new TextEncoder().encode('data: {"type":"start","userMessageId":"m1","assistantMessageId":"m2"}\n\n'));
    await settle();
    expect(conversation.current()).toMatchObject({ restricted: true, restrictedModels: ['demo-restricted'], title: null });
    expect(conversation.locked()?.ended).toBe(true);
    expect(held(conversation)).not.toContain('Secret plan');
    stream.close();
    await sent;
  });
});
