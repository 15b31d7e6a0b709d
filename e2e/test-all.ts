/**
 * `npm test`: unit and integration tests (vitest, real Postgres and Redis), then a build
 * of the SPA, then the browser tests (Playwright, Chromium). Every stage runs even if an
 * earlier one failed, and the run ends with one summary line:
 *   "N passed, N failed" (and ", N skipped" when there are any).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const out = path.join(root, 'test-results');
mkdirSync(out, { recursive: true });
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);

interface Tally {
  stage: string;
  passed: number;
  failed: number;
  skipped: number;
  ok: boolean;
}

function run(command: string, args: string[], env: Record<string, string> = {}): boolean {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return result.status === 0;
}

function readJson<T>(file: string): T | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : null;
}

const tallies: Tally[] = [];

// 1. Unit and integration tests.
const vitestJson = path.join(out, 'vitest.json');
rmSync(vitestJson, { force: true });
const vitestOk = run(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestJson}`]);
const vitest = readJson<{ numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number }>(vitestJson);
tallies.push({
  stage: 'unit + integration (vitest)',
  passed: vitest?.numPassedTests ?? 0,
  failed: vitest?.numFailedTests ?? (vitestOk ? 0 : 1),
  skipped: (vitest?.numPendingTests ?? 0) + (vitest?.numTodoTests ?? 0),
  ok: vitestOk && vitest !== null,
});

// 2. Build the SPA the browser tests load.
const buildOk = run(bin('vite'), ['build', '--logLevel', 'warn']);
tallies.push({ stage: 'build (vite)', passed: buildOk ? 1 : 0, failed: buildOk ? 0 : 1, skipped: 0, ok: buildOk });

// 3. Browser tests.
const playwrightJson = path.join(out, 'playwright.json');
rmSync(playwrightJson, { force: true });
const playwrightOk =
  buildOk &&
  run(bin('playwright'), ['test', '-c', 'e2e/playwright.config.ts', '--reporter=list,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: playwrightJson });
const playwright = readJson<{ stats: { expected: number; unexpected: number; flaky: number; skipped: number } }>(playwrightJson);
tallies.push({
  stage: 'browser (playwright)',
  passed: playwright?.stats.expected ?? 0,
  failed: (playwright?.stats.unexpected ?? 0) + (playwright?.stats.flaky ?? 0) || (playwrightOk ? 0 : 1),
  skipped: playwright?.stats.skipped ?? 0,
  ok: playwrightOk && playwright !== null,
});

console.log('\n──────── Argus test summary ────────');
for (const t of tallies) {
  console.log(`${t.ok ? 'PASS' : 'FAIL'}  ${t.stage}: ${t.passed} passed, ${t.failed} failed${t.skipped ? `, ${t.skipped} skipped` : ''}`);
}
const tests = tallies.filter((t) => !t.stage.startsWith('build'));
const passed = tests.reduce((n, t) => n + t.passed, 0);
const failed = tests.reduce((n, t) => n + t.failed, 0) + (buildOk ? 0 : 1);
const skipped = tests.reduce((n, t) => n + t.skipped, 0);
const allOk = tallies.every((t) => t.ok) && failed === 0 && passed > 0;
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(allOk ? 0 : 1);
