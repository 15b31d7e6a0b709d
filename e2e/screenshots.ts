import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from '@playwright/test';

/**
 * Where a spec keeps a screenshot for people to look at (390 and 1280 px views of a screen it
 * changed): under ARGUS_SHOTS_DIR when set, else in this test's own output folder under
 * test-results/, which every run starts afresh.
 */
export function shotPath(name: string): string {
  const dir = process.env.ARGUS_SHOTS_DIR;
  if (!dir) return test.info().outputPath(name);
  mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
