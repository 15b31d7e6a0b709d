import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionResponse } from '../../shared/api.ts';
import { loadConfig } from '../config.ts';
import { enrollUser, startTestNode, TestClient, type TestNode } from '../test/harness.ts';

const OLD = 'old-secret-old-secret-old-secret-0123456';
const NEW = 'new-secret-new-secret-new-secret-6543210';

describe('SESSION_SECRET rotation', () => {
  it('reads a comma-separated list: the first signs, every one must be long enough', () => {
    const config = loadConfig({ SESSION_SECRET: `${NEW}, ${OLD}`, ARGUS_DATA_DIR: '/tmp/argus-config-test' });
    expect(config.sessionSecret).toBe(NEW);
    expect(config.sessionSecrets).toEqual([NEW, OLD]);
    expect(() => loadConfig({ SESSION_SECRET: `${NEW},short`, ARGUS_DATA_DIR: '/tmp/argus-config-test' })).toThrow(/SESSION_SECRET: each comma-separated secret/);
  });

  let before: TestNode;
  let rotating: TestNode;
  let after: TestNode;
  beforeAll(async () => {
    before = await startTestNode({ SESSION_SECRET: OLD });
    const shared = { databaseUrl: before.databaseUrl, redisPrefix: before.redisPrefix };
    rotating = await startTestNode({ SESSION_SECRET: `${NEW},${OLD}` }, shared);
    after = await startTestNode({ SESSION_SECRET: NEW }, shared);
  });
  afterAll(async () => {
    await rotating?.close();
    await after?.close();
    await before?.destroy();
  });

  const signedIn = async (node: TestNode, cookie: string | null) => {
    const client = Object.assign(new TestClient(node.url, 'http://argus.test'), { cookie });
    return { client, signedIn: (await client.get<SessionResponse>('/api/session')).body.signedIn };
  };

  it('keeps cookies signed with the old secret valid while both are listed, and re-signs them with the new one', async () => {
    const { client } = await enrollUser(before, { username: 'rota', password: 'the old sailor of the sea' });
    const oldCookie = client.cookie;
    // Only the new secret: a cookie signed with the old one is not accepted.
    expect((await signedIn(after, oldCookie)).signedIn).toBe(false);
    // Both listed: still signed in, and the answer carries the cookie signed with the new secret.
    const { client: onRotating, signedIn: accepted } = await signedIn(rotating, oldCookie);
    expect(accepted).toBe(true);
    expect(onRotating.cookie).not.toBe(oldCookie);
    expect((await signedIn(after, onRotating.cookie)).signedIn).toBe(true);
  });
});
