import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir, platform } from 'node:os';
import path from 'node:path';
import type { PairDetectorResponse } from '../../shared/detector.ts';

/** What pairing leaves on disk: the server and the device key. The key is a secret. */
export interface DetectorCredentials extends PairDetectorResponse {
  /** The server's origin, e.g. https://argus.example.com. */
  server: string;
  /** A CA certificate file to trust for this server (absolute path), if one was given. */
  caFile: string | null;
  pairedAt: string;
}

const FILE = 'detector.json';

/**
 * The per-user config directory: $XDG_CONFIG_HOME/argus-detector (else ~/.config/…) on
 * Linux and BSDs, ~/Library/Application Support/argus-detector on macOS,
 * %APPDATA%\argus-detector on Windows. `--config` overrides it.
 */
export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env, os: NodeJS.Platform = platform(), home = homedir()): string {
  if (os === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'argus-detector');
  if (os === 'darwin') return path.join(home, 'Library', 'Application Support', 'argus-detector');
  return path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'argus-detector');
}

export function credentialsPath(configDir: string): string {
  return path.join(configDir, FILE);
}

/** Writes the credentials owner-only (0700 directory, 0600 file), atomically. */
export async function saveCredentials(configDir: string, credentials: DetectorCredentials): Promise<string> {
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask and leaves an existing directory alone.
  await chmod(configDir, 0o700);
  const file = credentialsPath(configDir);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'w' });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
  return file;
}

export class NotPairedError extends Error {
  override name = 'NotPairedError';
}

export async function loadCredentials(configDir: string): Promise<DetectorCredentials> {
  const file = credentialsPath(configDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new NotPairedError(`This detector is not paired (no ${file}). Run \`argus-detector pair <code> --server <origin>\` first.`);
  }
  const parsed = JSON.parse(text) as Partial<DetectorCredentials>;
  if (!parsed.server || !parsed.detectorId || !parsed.keyId || !parsed.secret) {
    throw new NotPairedError(`${file} is incomplete. Pair the detector again.`);
  }
  return { caFile: null, pairedAt: '', ...parsed } as DetectorCredentials;
}
