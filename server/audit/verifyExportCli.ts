/**
 * npm run audit:verify -- <export> <manifest> [--key <public-key.pem>]... [--checkpoints <file>]...
 * npm run audit:verify -- --database [--key <public-key.pem>]... [--checkpoints <file>]...
 * Either with --presence [--origin <origin>]... [--rp-id <rp-id>]...
 *
 * Verifies an export offline, or (--database) the chain in the database at $DATABASE_URL.
 * The trusted keys are every --key (after a signing-key rotation, the current and the retired
 * ones; a file may hold several PEM keys), else $AUDIT_PUBLIC_KEY_FILE, else the development
 * key under .argus/. Each --checkpoints file holds signed checkpoints received elsewhere (the
 * file sink's lines, or lines copied out of a SIEM or syslog file), held against the events
 * with the export's or the database's own. --presence then proves every grant from its
 * recorded signature and every restricted use from a proven grant (docs/presence-proofs.md).
 * Exit code 0: verified; 1: a problem; 2: bad usage.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { AuditCheckpoint } from '../../shared/audit.ts';
import { describeExternalCheckpoints, readExternalCheckpoints } from './externalCheckpoints.ts';
import { presenceCommand } from './presence/presenceCommand.ts';
import { DEV_PUBLIC_KEY_FILE, publicKeyFingerprint } from './signingKey.ts';
import { describeProblem, verifyExport } from './verifyExport.ts';

const USAGE = `Usage: npm run audit:verify -- <export-file> <manifest.json> [--key <public-key.pem>]... [--checkpoints <file>]...
       npm run audit:verify -- --database [--key <public-key.pem>]... [--checkpoints <file>]...   (reads $DATABASE_URL)
  --key           a trusted public key (several after a key rotation)
  --checkpoints   signed checkpoints received elsewhere: the file sink's file, or lines taken from a SIEM
  --presence      also prove every grant from its recorded key signature, and every restricted use from a grant
  --origin, --rp-id   with --presence: the origins and RP IDs Argus serves (each assertion's recorded ones must be among them)`;

function readTrustedKeys(keyPaths: string[]): KeyObject[] | string {
  const publicKeys: KeyObject[] = [];
  for (const keyPath of keyPaths) {
    if (!existsSync(keyPath)) return `No trusted public key at ${keyPath}. Download it from /api/audit/signing-key.pem and pass --key.`;
    const blocks = readFileSync(keyPath, 'utf8').match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
    try {
      if (blocks.length === 0) throw new Error('no key');
      publicKeys.push(...blocks.map((block) => createPublicKey(block)));
    } catch {
      return `${keyPath} is not a PEM public key.`;
    }
  }
  return publicKeys;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        key: { type: 'string', multiple: true },
        checkpoints: { type: 'string', multiple: true },
        database: { type: 'boolean' },
        presence: { type: 'boolean' },
        origin: { type: 'string', multiple: true },
        'rp-id': { type: 'string', multiple: true },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const database = parsed.values.database === true;
  const [exportPath, manifestPath] = parsed.positionals;
  const usable = database ? parsed.positionals.length === 0 : exportPath && manifestPath && parsed.positionals.length === 2;
  if (!usable) {
    console.error(USAGE);
    return 2;
  }
  const keys = readTrustedKeys(parsed.values.key ?? [process.env.AUDIT_PUBLIC_KEY_FILE ?? path.join(process.env.ARGUS_DATA_DIR ?? '.argus', DEV_PUBLIC_KEY_FILE)]);
  if (typeof keys === 'string') {
    console.error(`${keys}\n${USAGE}`);
    return 2;
  }
  const checkpointFiles = parsed.values.checkpoints ?? [];
  for (const file of [...(database ? [] : [exportPath!, manifestPath!]), ...checkpointFiles]) {
    if (!existsSync(file)) {
      console.error(`No such file: ${file}`);
      return 2;
    }
  }
  for (const key of keys) console.log(`Trusted key SHA-256 fingerprint: ${publicKeyFingerprint(key)} (compare with the one Argus shows)`);
  const chainCode = database ? await verifyDatabase(keys, checkpointFiles) : await verifyExportFiles(exportPath!, manifestPath!, keys, checkpointFiles);
  if (parsed.values.presence !== true || chainCode === 2) return chainCode;
  // The proofs are checked whatever the chain said: both reports help whoever reads them.
  const presenceOptions = { expectedOrigins: parsed.values.origin ?? [], expectedRpIds: parsed.values['rp-id'] ?? [] };
  const source = database ? { databaseUrl: process.env.DATABASE_URL! } : { exportPath: exportPath!, manifestPath: manifestPath! };
  return Math.max(chainCode, await presenceCommand(source, presenceOptions));
}

async function verifyExportFiles(exportPath: string, manifestPath: string, publicKeys: KeyObject[], checkpointFiles: string[]): Promise<number> {
  const externalCheckpoints: AuditCheckpoint[] = [];
  let unverifiedExternal = false;
  for (const file of checkpointFiles) {
    const read = await readExternalCheckpoints(file, publicKeys);
    for (const line of describeExternalCheckpoints(read, file)) (line.startsWith('FAIL') ? console.error : console.log)(line);
    externalCheckpoints.push(...read.checkpoints);
    unverifiedExternal ||= read.unverified.length > 0;
  }
  const result = await verifyExport({ exportPath, manifestJson: readFileSync(manifestPath, 'utf8'), publicKey: publicKeys, externalCheckpoints });
  const manifest = result.manifest;
  if (manifest) {
    console.log(`Export ${manifest.exportId}: ${manifest.format}, ${manifest.eventCount} events #${manifest.firstSeq ?? '-'}…#${manifest.lastSeq ?? '-'}, by ${manifest.exporter.username} at ${manifest.exportedAt}`);
  }
  // Forged external checkpoints were named line by line above; the witness's summary would repeat them.
  const problems = unverifiedExternal ? result.problems.filter((p) => !(p.kind === 'checkpoint' && p.source === 'external' && p.reason === 'checkpoint_signature_invalid')) : result.problems;
  for (const problem of problems) console.error(`FAIL: ${describeProblem(problem)}`);
  if (!result.ok) return 1;
  console.log('OK: manifest signature valid; file SHA-256 matches.');
  if (result.chainChecked) {
    console.log(`OK: ${result.eventsChecked} events hash-verified${manifest?.contiguous ? ', linked as one unbroken chain segment' : ' (filtered export: links checked where events are adjacent)'}.`);
    if (result.checkpointMatched) console.log(`OK: matches the signed checkpoint at #${manifest!.checkpoint!.seq} (${manifest!.checkpoint!.time}).`);
    if (checkpointFiles.length > 0) {
      console.log(
        result.externalCheckpointsMatched > 0
          ? `OK: matches ${result.externalCheckpointsMatched} of ${externalCheckpoints.length} external checkpoints (the others fall on no exported event).`
          : `Note: none of the ${externalCheckpoints.length} external checkpoints falls on an exported event; export a range that holds one.`,
      );
    }
  } else {
    console.log(`Note: ${manifest!.format} files do not carry every hashed field; only the signed file hash vouches for them. Export JSON Lines to verify the chain.`);
  }
  return 0;
}

/** The chain in the database, read with any role that may SELECT the audit tables. */
async function verifyDatabase(publicKeys: KeyObject[], checkpointFiles: string[]): Promise<number> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error(`--database reads the database at $DATABASE_URL, which is not set. (With the embedded PostgreSQL, use \`npm run argus -- verify-audit\`.)\n${USAGE}`);
    return 2;
  }
  // Loaded only here: verifying an export needs no database driver.
  const [{ createPool }, { createLogger }, { verifyAuditCommand }] = await Promise.all([import('../db/pool.ts'), import('../log.ts'), import('./verify.ts')]);
  const pool = createPool(url, createLogger('silent'), 2);
  try {
    return await verifyAuditCommand(pool, publicKeys, console, { checkpointsFiles: checkpointFiles });
  } finally {
    await pool.end();
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      // A database that cannot be reached, a file that cannot be read: say so, without a stack.
      console.error(`audit:verify failed: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
