import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_NOT_RETRYABLE, STOP_GRACE_MS } from '../cluster.ts';
import { CONFIG_VARIABLES } from '../config.ts';

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

describe('docs/deploy.md', () => {
  it('describes every environment variable Argus reads', () => {
    const docs = `${read('docs/deploy.md')}\n${read('README.md')}`;
    const missing = CONFIG_VARIABLES.filter((name) => !new RegExp(`\`${name}\``).test(docs));
    expect(missing).toEqual([]);
  });

  it('refers to deployment files that exist', () => {
    const referenced = [...read('docs/deploy.md').matchAll(/\(\.\.\/(deploy\/[\w.-]+)\)/g)].map((m) => m[1]!);
    expect(referenced).toEqual(expect.arrayContaining(['deploy/nginx.conf', 'deploy/argus.service', 'deploy/argus.env.example']));
    for (const file of referenced) expect(existsSync(path.join(root, file)), file).toBe(true);
  });

  it('the example environment file names only variables Argus reads', () => {
    const names = read('deploy/argus.env.example')
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => line.slice(0, line.indexOf('=')));
    expect(names.filter((name) => !CONFIG_VARIABLES.includes(name))).toEqual([]);
  });
});

describe('deploy/argus.service', () => {
  /** `Key=value` settings of the unit (the last one wins, as in systemd); comments and sections left out. */
  const settings = () =>
    new Map(
      read('deploy/argus.service')
        .split('\n')
        .filter((line) => /^[A-Za-z]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
    );

  it('runs the cluster primary and stops its workers through it: SIGTERM to the primary alone, SIGKILL only after its grace', () => {
    const unit = settings();
    expect(unit.get('ExecStart')).toMatch(/ server\/main\.ts$/);
    // control-group (the default) would signal every worker at once, behind the primary's back.
    expect(unit.get('KillMode')).toBe('mixed');
    expect(unit.get('KillSignal')).toBe('SIGTERM');
    // The primary gives its workers STOP_GRACE_MS, then kills them: systemd must not come first.
    expect(Number(unit.get('TimeoutStopSec')) * 1000).toBeGreaterThan(STOP_GRACE_MS);
    // Reload goes to the primary, which passes SIGHUP on to every worker.
    expect(unit.get('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    // A fault no restart fixes (the primary exits 2 for a worker that did) is not restarted.
    expect(unit.get('RestartPreventExitStatus')).toBe(String(EXIT_NOT_RETRYABLE));
    // The primary hands connections to its workers over a Unix socket pair.
    expect(unit.get('RestrictAddressFamilies')?.split(' ')).toContain('AF_UNIX');
  });

  it('no longer calls itself the unit of one process', () => {
    expect(read('deploy/argus.service')).not.toMatch(/\(one node\)|^# One Argus node/m);
    expect(read('deploy/argus.service')).toMatch(/ARGUS_WORKERS/);
  });
});
