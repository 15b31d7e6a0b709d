import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The part of madge's API used here (madge ships no types). */
interface MadgeResult {
  /** Each file (relative to baseDir) and the files it imports. */
  obj(): Record<string, string[]>;
  /** Each import cycle, as the files along it. */
  circular(): string[][];
}
type Madge = (paths: string[], config: Record<string, unknown>) => Promise<MadgeResult>;
const madge = createRequire(import.meta.url)('madge') as Madge;

const ROOT = resolve(import.meta.dirname, '../..');
const FOLDERS = ['server', 'client', 'shared'];

/** The import graph of these folders, read with our tsconfig (`.ts` extensions in imports, TSX). */
function importGraph(baseDir: string, folders: string[]): Promise<MadgeResult> {
  return madge(
    folders.map((folder) => join(baseDir, folder)),
    {
      baseDir,
      fileExtensions: ['ts', 'tsx'],
      tsConfig: join(ROOT, 'tsconfig.json'),
      // `import type` counts too: a type-only cycle still ties two modules into one.
      detectiveOptions: { ts: { skipTypeImports: false }, tsx: { skipTypeImports: false } },
    },
  );
}

const sourceFiles = (folder: string) =>
  readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.tsx?$/.test(file))
    .map((file) => join(folder, file));

describe('no module of server/, client/ or shared/ imports itself through others', () => {
  it('reads every source file and finds no import cycle', async () => {
    const graph = await importGraph(ROOT, FOLDERS);
    // A file madge could not parse would be missing here, and its cycles with it.
    expect(Object.keys(graph.obj())).toEqual(expect.arrayContaining(FOLDERS.flatMap(sourceFiles)));
    const cycles = graph.circular().map((cycle) => `${cycle.join(' → ')} → ${cycle[0]}`);
    expect(cycles, 'Import cycles: move what both sides need into a module of its own (as server/models/completion.ts does for the providers).').toEqual([]);
  }, 60_000);

  it('does find a cycle, through a .tsx file and a type-only import', async () => {
    const fixture = mkdtempSync(join(tmpdir(), 'argus-cycle-'));
    try {
      mkdirSync(join(fixture, 'app'));
      writeFileSync(join(fixture, 'app/registry.ts'), "import { View } from './View.tsx';\nexport const registry = { View };\n");
      writeFileSync(join(fixture, 'app/View.tsx'), "import type { Entry } from './entry.ts';\nexport const View = (props: { entry: Entry }) => <p>{props.entry.name}</p>;\n");
      writeFileSync(join(fixture, 'app/entry.ts'), "import type { registry } from './registry.ts';\nexport interface Entry { name: keyof typeof registry }\n");
      const graph = await importGraph(fixture, ['app']);
      const cycles = graph.circular();
      expect(cycles).toHaveLength(1);
      expect([...cycles[0]!].sort()).toEqual(['app/View.tsx', 'app/entry.ts', 'app/registry.ts']);
    } finally {
      rmSync(fixture, { recursive: true, force: true });
    }
  });
});
