import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestNode, type TestNode } from '../test/harness.ts';

/**
 * In a sign-in flood most attempts are shed with 503 SERVER_BUSY (issue #24): that must cost
 * as little as it can, so it happens before anything else, the per-IP count in Redis included.
 */
let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ ARGON2_MAX_CONCURRENT: '1', ARGON2_MAX_QUEUE: '0', SIGNIN_RATE_PER_MINUTE: '2' });
});
afterAll(() => node.destroy());

describe('a full hash queue', () => {
  it('sheds an attempt before it is counted against its IP, and the IP keeps its budget for later', async () => {
    // The one hash slot is taken and nothing may wait: the queue is full.
    let release!: () => void;
    const occupied = node.deps.hasher.limiter.run(() => new Promise<void>((resolve) => (release = resolve)));
    expect(node.deps.hasher.limiter.full).toBe(true);
    try {
      for (let i = 0; i < 3; i += 1) {
        const shed = await node.client().post('/api/auth/signin', { username: 'nobody', password: 'whatever it is here' });
        expect(errorCode(shed)).toBe('SERVER_BUSY');
      }
    } finally {
      release();
      await occupied;
    }
    // Two attempts a minute from this IP: both are still there, and the third is refused.
    const answers = [];
    for (let i = 0; i < 3; i += 1) answers.push((await node.client().post('/api/auth/signin', { username: 'nobody', password: 'whatever it is here' })).status);
    expect(answers).toEqual([401, 401, 429]);
  });
});
