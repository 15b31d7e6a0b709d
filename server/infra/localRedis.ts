import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { portOpen } from './portOpen.ts';
import type { Logger } from '../log.ts';

export interface LocalRedis {
  url: string;
  stop(): Promise<void>;
}

export class RedisNotInstalledError extends Error {
  override name = 'RedisNotInstalledError';
  constructor() {
    super(
      'Argus needs Redis. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`) ' +
        'or point REDIS_URL at a running Redis, e.g. REDIS_URL=redis://127.0.0.1:6379.',
    );
  }
}

/**
 * Starts `redis-server` as a child process bound to loopback, with its snapshot under
 * `<dataDir>/redis`. Used when REDIS_URL is not set. It dies with Argus.
 */
export async function startLocalRedis({ dataDir, port, log }: { dataDir: string; port: number; log: Logger }): Promise<LocalRedis> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) throw new RedisNotInstalledError();
  const dir = path.join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const child = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '60 1', '--appendonly', 'no', '--protected-mode', 'yes'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(port))) {
    const early = await Promise.race([exited, sleep(100).then(() => undefined)]);
    if (early !== undefined) throw new Error(`redis-server exited (code ${early}) before it was ready: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error('redis-server did not start listening within 10 s');
    }
  }
  log.info({ port }, 'local redis-server started');
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5_000)]);
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
