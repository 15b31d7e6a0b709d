/**
 * `npm run audit:verify -- --presence …`: the presence check after the chain check, over the
 * same export file or the same database. Prints the report; returns the exit code (0 every
 * grant and use proven, 1 a problem, 2 bad usage).
 */
import { readFileSync } from 'node:fs';
import type { ExportManifest } from '../../../shared/audit.ts';
import type { PresenceOptions } from './presenceVerifier.ts';
import { describePresence, exportedEvents, verifyPresence } from './verifyPresence.ts';

type Out = { log(text: string): void; error(text: string): void };

export type PresenceSource = { exportPath: string; manifestPath: string } | { databaseUrl: string };

export async function presenceCommand(source: PresenceSource, options: PresenceOptions, out: Out = console): Promise<number> {
  let report;
  if ('exportPath' in source) {
    let manifest: Partial<ExportManifest> = {};
    try {
      manifest = JSON.parse(readFileSync(source.manifestPath, 'utf8')) as ExportManifest;
    } catch {
      // The chain check has said what is wrong with the manifest; the events can still be read.
    }
    if (manifest.format !== undefined && manifest.format !== 'jsonl') {
      out.error(`--presence reads the recorded signatures from a JSON Lines export; this one is ${manifest.format}.`);
      return 2;
    }
    // What lies outside the export is missing from the proof: only ever a failure, never a pass.
    if (manifest.firstSeq !== undefined && manifest.firstSeq !== null && manifest.firstSeq > 1) {
      out.log(`Note: the export starts at #${manifest.firstSeq}: keys registered and grants made before it are not in it, and what used them is reported unproven. Export from #1 to prove everything.`);
    }
    if (manifest.contiguous === false) out.log('Note: a filtered export lacks the events its filter left out; export a time range to prove everything.');
    report = await verifyPresence(exportedEvents(source.exportPath), options);
  } else {
    // Loaded only here: verifying an export needs no database driver.
    const [{ createPool }, { createLogger }, { databaseEvents }] = await Promise.all([import('../../db/pool.ts'), import('../../log.ts'), import('./databaseEvents.ts')]);
    const pool = createPool(source.databaseUrl, createLogger('silent'), 1);
    try {
      report = await verifyPresence(databaseEvents(pool), options);
    } finally {
      await pool.end();
    }
  }
  const { summary, failures } = describePresence(report);
  for (const line of summary) out.log(line);
  for (const line of failures) out.error(line);
  return report.ok ? 0 : 1;
}
