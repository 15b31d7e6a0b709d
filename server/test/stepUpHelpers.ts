import type { TestClient, TestNode } from './harness.ts';
import type { SoftAuthenticator } from './softAuthenticator.ts';

/** The express-session id inside a signed cookie (`s:<sid>.<signature>`). */
export function sessionIdOf(client: TestClient): string {
  return decodeURIComponent(client.sessionId!).slice(2).split('.')[0]!;
}

/** Makes this session's step-up stale, as if the last touch was an hour ago. */
export async function expireStepUp(node: TestNode, client: TestClient): Promise<void> {
  const key = `sess:${sessionIdOf(client)}`;
  const data = JSON.parse((await node.deps.redis.get(key))!) as { stepUpAt: number };
  data.stepUpAt -= 60 * 60_000;
  await node.deps.redis.set(key, JSON.stringify(data), 'PX', 60_000);
}

/** A fresh step-up: options, a touch of the key, verification. */
export async function stepUp(client: TestClient, authenticator: SoftAuthenticator): Promise<void> {
  const { options } = (await client.post<{ options: { challenge: string } }>('/api/account/step-up/options')).body;
  const response = await client.post('/api/account/step-up', { response: authenticator.assert(options) });
  if (response.status !== 200) throw new Error(`step-up failed: ${response.status}`);
}
