import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionListResponse } from '../../shared/api.ts';
import { enrollUser, lastAudit, signIn, startTestNode, TestClient, type TestNode } from '../test/harness.ts';
import { headerText, truncateText } from './headerText.ts';

/** What Node's HTTP parser hands over for a header whose bytes are this text's UTF-8: one code point per byte. */
const asNodeReadsIt = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

const UTF8_AGENT = 'Mozilla/5.0 (ärger; 日本) 😀';

describe('headerText', () => {
  it('reads the bytes of a non-ASCII header as UTF-8', () => {
    expect(asNodeReadsIt(UTF8_AGENT)).not.toBe(UTF8_AGENT);
    expect(headerText(asNodeReadsIt(UTF8_AGENT))).toBe(UTF8_AGENT);
    expect(headerText(asNodeReadsIt('line\u2028sep \u0085nel'))).toBe('line\u2028sep \u0085nel');
  });

  it('leaves ASCII, absent values and bytes that are not UTF-8 as they came', () => {
    expect(headerText('curl/8.5.0')).toBe('curl/8.5.0');
    expect(headerText(undefined)).toBeUndefined();
    // Latin-1 "ärger" (0xE4 then ASCII) is not valid UTF-8: kept as Latin-1 text.
    expect(headerText('\u00e4rger')).toBe('\u00e4rger');
    // A truncated sequence, an overlong encoding, an encoded surrogate: none is UTF-8.
    expect(headerText('\u00e6\u0097')).toBe('\u00e6\u0097');
    expect(headerText('\u00c0\u0080')).toBe('\u00c0\u0080');
    expect(headerText('\u00ed\u00a0\u0080')).toBe('\u00ed\u00a0\u0080');
  });

  it('decodes the UTF-8 of U+FFFD itself (the round trip, not the replacement character, decides)', () => {
    expect(headerText(asNodeReadsIt('a\ufffdb'))).toBe('a\ufffdb');
  });

  it('leaves text that did not come from a Latin-1 reading alone', () => {
    expect(headerText('日本')).toBe('日本');
  });
});

describe('truncateText', () => {
  it('cuts to the limit, but never inside a surrogate pair', () => {
    expect(truncateText('abcdef', 3)).toBe('abc');
    expect(truncateText('ab', 3)).toBe('ab');
    expect(truncateText('ab😀', 3)).toBe('ab');
    expect(truncateText('ab😀', 4)).toBe('ab😀');
  });
});

describe('a non-ASCII User-Agent is stored as the client sent it', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(() => node.destroy());

  /** A client whose every request carries the UTF-8 bytes of `userAgent`, as a browser sends them. */
  class AgentClient extends TestClient {
    constructor(
      base: TestClient,
      readonly userAgent: string,
    ) {
      super(base.baseUrl, base.origin);
    }

    override request<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      // fetch sends a header's code points 0-255 as single bytes: these are the UTF-8 bytes.
      return super.request<T>(method, path, body, { 'user-agent': asNodeReadsIt(this.userAgent), ...headers });
    }
  }

  it('in the audit log and in the session list', async () => {
    const bob = await enrollUser(node, { username: 'bob' });
    const client = new AgentClient(node.client(), UTF8_AGENT);
    // A failed attempt: the audit context of an anonymous request.
    expect((await client.post('/api/auth/signin', { username: 'bob', password: 'not the password at all' })).status).toBe(401);
    expect(await lastAudit(node, 'auth.signin_failed')).toMatchObject({ userAgent: UTF8_AGENT });
    // A full sign-in: the session remembers the agent, and the audit event of the key step names it.
    await signIn(node, { username: 'bob', password: bob.password, authenticator: bob.authenticator, client });
    expect(await lastAudit(node, 'auth.signin')).toMatchObject({ userAgent: UTF8_AGENT });
    const { sessions } = (await client.get<SessionListResponse>('/api/account/sessions')).body;
    expect(sessions.find((session) => session.current)).toMatchObject({ userAgent: UTF8_AGENT });
  });

  it('cut at 512 characters without splitting an emoji, so the event still verifies', async () => {
    const long = `${'a'.repeat(511)}😀 and more`;
    const client = new AgentClient(node.client(), long);
    await client.post('/api/auth/signin', { username: 'nobody-here', password: 'not the password at all' });
    const event = await lastAudit(node, 'auth.signin_failed');
    expect(event?.userAgent).toBe('a'.repeat(511));
    const admin = (await enrollUser(node, { username: 'ada', role: 'admin' })).client;
    expect((await admin.get<{ intact: boolean }>('/api/audit/verify')).body).toMatchObject({ intact: true });
  });
});
