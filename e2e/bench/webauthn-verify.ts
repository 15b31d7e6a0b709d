/**
 * `npm run bench:webauthn`: WebAuthn assertion verifications per second on one core.
 *
 * 1. The verification itself (SimpleWebAuthn: parsing, origin/RP/flag checks, ECDSA P-256
 *    signature), sequentially in this one thread.
 * 2. The whole key step over HTTP against a real node (challenge GETDEL in Redis, key
 *    lookup and counter update in Postgres, audit append), one ceremony at a time: a step-up
 *    (options + verify, the figure issue #24 started from) and the sign-in key step (options +
 *    verify after a password step, which is not timed: it is Argon2's, see bench:signin).
 *    Each step costs at most one Postgres commit (server/webauthn/keyStep.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../server/config.ts';
import type { KeyRow } from '../../server/db/keys.ts';
import { createLogger } from '../../server/log.ts';
import { startArgus } from '../../server/runtime.ts';
import { SoftAuthenticator } from '../../server/test/softAuthenticator.ts';
import { benchDatabase, enrollOverHttp } from './benchSetup.ts';
import { verifyAssertionSignature, verifyRegistration } from '../../server/webauthn/ceremonies.ts';

const RAW_RUNS = Number(process.env.RUNS ?? 5000);
const HTTP_RUNS = Number(process.env.HTTP_RUNS ?? 300);
/** Sign-ins: each needs a password step first (~0.1 s of Argon2), so fewer. */
const SIGNIN_RUNS = Number(process.env.SIGNIN_RUNS ?? 100);

const config = loadConfig({ NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(32), ARGUS_ORIGIN: 'https://argus.example', ARGUS_DATA_DIR: '/tmp/argus-bench' });

async function rawVerifications(): Promise<void> {
  const soft = new SoftAuthenticator(config.origin, config.rpId);
  const challenge = randomBytes(32).toString('base64url');
  const registration = await verifyRegistration({ config, response: soft.register({ challenge }) as never, expectedChallenge: challenge });
  if (!registration.verified) throw new Error('registration failed');
  const info = { credential: { id: registration.credential.id.toString('base64url'), publicKey: registration.credential.publicKey } };
  const key = {
    credential_id: Buffer.from(info.credential.id, 'base64url'),
    public_key: Buffer.from(info.credential.publicKey),
    transports: [],
  } as unknown as KeyRow;
  // Pre-build the assertions so only verification is timed.
  const assertions = Array.from({ length: RAW_RUNS }, () => {
    const c = randomBytes(32).toString('base64url');
    return { challenge: c, response: soft.assert({ challenge: c }) };
  });
  const started = performance.now();
  let verified = 0;
  for (const { challenge: expectedChallenge, response } of assertions) {
    const result = await verifyAssertionSignature({ config, response: response as never, expectedChallenge, key, requireUserVerification: false });
    if (result.verified) verified += 1;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`Assertion verification (SimpleWebAuthn, ES256), ${RAW_RUNS} sequential on one core:`);
  console.log(`  ${(RAW_RUNS / seconds).toFixed(0)} verifications/s  (${((seconds * 1000) / RAW_RUNS).toFixed(3)} ms each; ${verified} verified)`);
}

async function httpKeyStep(): Promise<void> {
  const database = await benchDatabase();
  const nodeConfig = loadConfig(database.nodeEnv());
  const node = await startArgus(nodeConfig, createLogger('silent'), { serveClient: false });
  try {
    const { cookie: signedIn, authenticator: soft, username, password } = await enrollOverHttp({ baseUrl: node.url, pool: node.deps.pool, config: nodeConfig });
    let cookie = signedIn;
    const post = async (path: string, body: unknown = {}) => {
      const response = await fetch(node.url + path, { method: 'POST', headers: { origin: nodeConfig.origin, 'content-type': 'application/json', cookie }, body: JSON.stringify(body) });
      if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      cookie = response.headers.get('set-cookie')?.split(';')[0] ?? cookie;
      return (await response.json()) as { options: { challenge: string } };
    };
    // The session is now full; step-up runs the same verification path as sign-in.
    const latencies: number[] = [];
    const started = performance.now();
    for (let i = 0; i < HTTP_RUNS; i += 1) {
      const t = performance.now();
      const { options: stepUp } = await post('/api/account/step-up/options');
      await post('/api/account/step-up', { response: soft.assert(stepUp) });
      latencies.push(performance.now() - t);
    }
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const p = (q: number) => latencies[Math.floor(q * (latencies.length - 1))]!.toFixed(2);
    console.log(`\nKey step over HTTP (options + verify: Redis challenge, Postgres key + counter + audit), ${HTTP_RUNS} sequential:`);
    console.log(`  step-up  ${(HTTP_RUNS / seconds).toFixed(0)} ceremonies/s; round trip p50 ${p(0.5)} ms, p99 ${p(0.99)} ms`);

    const signIns: number[] = [];
    for (let i = 0; i < SIGNIN_RUNS; i += 1) {
      cookie = '';
      await post('/api/auth/signin', { username, password });
      const t = performance.now();
      const { options } = await post('/api/auth/key/options');
      await post('/api/auth/key', { response: soft.assert(options) });
      signIns.push(performance.now() - t);
    }
    signIns.sort((a, b) => a - b);
    const q = (at: number) => signIns[Math.floor(at * (signIns.length - 1))]!.toFixed(2);
    console.log(`  sign-in  key step after the password (options + verify + the signed-in session), ${SIGNIN_RUNS} sequential: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`);
  } finally {
    await node.close();
    await database.drop();
  }
}

await rawVerifications();
await httpKeyStep();
