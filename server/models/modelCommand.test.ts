import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getModel } from '../db/models.ts';
import { createPool, type Pool } from '../db/pool.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger } from '../log.ts';
import { createTestDatabase } from '../test/harness.ts';
import { modelCommand } from './modelCommand.ts';
import { NO_MODEL_HOST_ALLOWLIST, parseModelHostAllowlist, type ModelHostAllowlist } from './modelHosts.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: Pool;
beforeAll(async () => {
  database = await createTestDatabase();
  pool = createPool(database.url, createLogger('silent'), 2);
  await migrate(pool, createLogger('silent'));
});
afterAll(async () => {
  await pool.end();
  await database.drop();
});

/** Runs the command, returning its exit code and what it printed to stderr. */
async function run(args: string[], values: Record<string, string | boolean | undefined>, modelHostAllowlist: ModelHostAllowlist = parseModelHostAllowlist('127.0.0.1')) {
  const errors: string[] = [];
  const error = vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    return { code: await modelCommand(pool, args, values, { modelHostAllowlist }), errors };
  } finally {
    error.mockRestore();
    log.mockRestore();
  }
}

describe('npm run argus -- model add (the same validation as the admin API)', () => {
  it('adds a model with the defaults, the upstream name defaulting to the id', async () => {
    const added = await run(['add', 'cli-llama'], { name: 'CLI Llama', 'base-url': 'http://127.0.0.1:11434/v1', 'grant-seconds': '90', 'require-uv': true });
    expect(added).toEqual({ code: 0, errors: [] });
    expect(await getModel(pool, 'cli-llama')).toMatchObject({ upstream_model: 'cli-llama', tier: 'standard', grant_seconds: 90, requires_user_verification: true, max_output_tokens: 1024 });
    expect(await run(['add', 'cli-llama'], { name: 'Again', provider: 'demo' })).toMatchObject({ code: 1 });
  });

  it('names the flags at fault', async () => {
    const refused = await run(['add', 'Bad Id'], { name: 'x', 'grant-seconds': '5', 'key-env': 'sk-secret' });
    expect(refused.code).toBe(2);
    expect(refused.errors.join('\n')).toMatch(/^ {2}id: /m);
    expect(refused.errors.join('\n')).toMatch(/--grant-seconds: /);
    expect(refused.errors.join('\n')).toMatch(/--key-env: an environment variable name/);
    expect((await run(['add', 'no-url'], { name: 'No URL' })).errors).toEqual(['  --base-url: a base URL is required for an openai provider']);
    expect(await getModel(pool, 'no-url')).toBeNull();
  });

  it('refuses a base URL inside Argus\'s network unless MODEL_HOST_ALLOWLIST allows it', async () => {
    const refused = await run(['add', 'inside'], { name: 'Inside', 'base-url': 'http://169.254.169.254/v1' }, NO_MODEL_HOST_ALLOWLIST);
    expect(refused.code).toBe(2);
    expect(refused.errors.join('\n')).toMatch(/--base-url: 169\.254\.169\.254 is inside .*MODEL_HOST_ALLOWLIST/);
    expect(await getModel(pool, 'inside')).toBeNull();
  });
});
