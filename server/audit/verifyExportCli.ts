/**
 * npm run audit:verify <export> <manifest> [--key <public-key.pem>]...
 *
 * Verifies an export offline. The trusted keys are every --key (after a signing-key rotation,
 * the current and the retired ones; a file may hold several PEM keys), else
 * $AUDIT_PUBLIC_KEY_FILE, else the development key under .argus/.
 * Exit code 0: verified; 1: a problem; 2: bad usage.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEV_PUBLIC_KEY_FILE, publicKeyFingerprint } from './signingKey.ts';
import { describeProblem, verifyExport } from './verifyExport.ts';

const USAGE = 'Usage: npm run audit:verify -- <export-file> <manifest.json> [--key <public-key.pem>]... (several after a key rotation)';

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { key: { type: 'string', multiple: true } } });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const [exportPath, manifestPath] = parsed.positionals;
  if (!exportPath || !manifestPath || parsed.positionals.length > 2) {
    console.error(USAGE);
    return 2;
  }
  const keyPaths = parsed.values.key ?? [process.env.AUDIT_PUBLIC_KEY_FILE ?? path.join(process.env.ARGUS_DATA_DIR ?? '.argus', DEV_PUBLIC_KEY_FILE)];
  const publicKeys = [];
  for (const keyPath of keyPaths) {
    if (!existsSync(keyPath)) {
      console.error(`No trusted public key at ${keyPath}. Download it from /api/audit/signing-key.pem and pass --key.\n${USAGE}`);
      return 2;
    }
    const blocks = readFileSync(keyPath, 'utf8').match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
    try {
      if (blocks.length === 0) throw new Error('no key');
      publicKeys.push(...blocks.map((block) => createPublicKey(block)));
    } catch {
      console.error(`${keyPath} is not a PEM public key.`);
      return 2;
    }
  }
  for (const file of [exportPath, manifestPath]) {
    if (!existsSync(file)) {
      console.error(`No such file: ${file}`);
      return 2;
    }
  }
  for (const key of publicKeys) console.log(`Trusted key SHA-256 fingerprint: ${publicKeyFingerprint(key)} (compare with the one Argus shows)`);
  const result = await verifyExport({ exportPath, manifestJson: readFileSync(manifestPath, 'utf8'), publicKey: publicKeys });
  const manifest = result.manifest;
  if (manifest) {
    console.log(`Export ${manifest.exportId}: ${manifest.format}, ${manifest.eventCount} events #${manifest.firstSeq ?? '-'}…#${manifest.lastSeq ?? '-'}, by ${manifest.exporter.username} at ${manifest.exportedAt}`);
  }
  for (const problem of result.problems) console.error(`FAIL: ${describeProblem(problem)}`);
  if (!result.ok) return 1;
  console.log('OK: manifest signature valid; file SHA-256 matches.');
  if (result.chainChecked) {
    console.log(`OK: ${result.eventsChecked} events hash-verified${manifest?.contiguous ? ', linked as one unbroken chain segment' : ' (filtered export: links checked where events are adjacent)'}.`);
    if (result.checkpointMatched) console.log(`OK: matches the signed checkpoint at #${manifest!.checkpoint!.seq} (${manifest!.checkpoint!.time}).`);
  } else {
    console.log(`Note: ${manifest!.format} files do not carry every hashed field; only the signed file hash vouches for them. Export JSON Lines to verify the chain.`);
  }
  return 0;
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
