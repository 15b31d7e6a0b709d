/**
 * The benchmark's model server in a process of its own, as a real one would be: the load
 * generator reaches it directly or through Argus, and neither path shares its event loop.
 *   child → parent: { ready: baseUrl }      parent → child: 'stop'
 * Env: TOKENS, TOKEN_DELAY_MS.
 */
import { FakeOpenAI } from '../../server/test/fakeOpenAI.ts';

const fake = await FakeOpenAI.start();
fake.tokens = Number(process.env.TOKENS ?? 256);
fake.tokenDelayMs = Number(process.env.TOKEN_DELAY_MS ?? 1);
fake.keepRequestLog = false;
process.on('message', async (message: string) => {
  if (message !== 'stop') return;
  await fake.stop();
  process.exit(0);
});
process.send!({ ready: fake.baseUrl });
