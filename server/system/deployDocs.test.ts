import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
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
