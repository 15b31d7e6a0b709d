/**
 * argus-detector: the fallback presence detector for browsers without WebHID.
 *
 *   argus-detector pair <code> --server <origin> [--name <name>] [--ca <file>] [--config <dir>]
 *   argus-detector run [--interval <ms>] [--ca <file>] [--config <dir>]
 *
 * `npm run detector -- pair …` from a checkout; `npx argus-detector pair …` via the "bin".
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { defaultConfigDir, loadCredentials, NotPairedError } from './credentials.ts';
import { DetectorClient } from './detectorClient.ts';
import { HidUnavailableError, nodeHidSource } from './hidSource.ts';
import { pair, PairingError } from './pair.ts';

const USAGE = `Usage:
  argus-detector pair <code> --server <origin> [--name <name>] [--ca <file>] [--config <dir>]
  argus-detector run [--interval <ms>] [--ca <file>] [--config <dir>]`;

function say(line: string) {
  process.stdout.write(`${line}\n`);
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string' },
      name: { type: 'string' },
      ca: { type: 'string' },
      config: { type: 'string' },
      interval: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, code] = positionals;
  const configDir = values.config ?? defaultConfigDir();
  if (values.help || !command) {
    say(USAGE);
    return values.help ? 0 : 2;
  }

  if (command === 'pair') {
    if (!code || !values.server) {
      say(USAGE);
      return 2;
    }
    const { credentials, file } = await pair({ code, server: values.server, configDir, caFile: values.ca ?? null, ...(values.name ? { name: values.name } : {}) });
    say(`Paired with ${credentials.server} as detector ${credentials.detectorId}.`);
    say(`Its key is stored in ${file} (readable only by you). Start watching with: argus-detector run`);
    return 0;
  }

  if (command === 'run') {
    const credentials = await loadCredentials(configDir);
    const interval = values.interval ? Number(values.interval) : 250;
    if (!Number.isInteger(interval) || interval < 20 || interval > 60_000) throw new Error('--interval must be a whole number of milliseconds between 20 and 60000.');
    const caFile = values.ca ?? credentials.caFile;
    const source = await nodeHidSource();
    say(`Watching FIDO keys with ${source.name} every ${interval} ms; server ${credentials.server}.`);
    const client = new DetectorClient({
      credentials,
      source,
      ca: caFile ? await readFile(caFile) : undefined,
      timings: { pollMs: interval },
      onState: (state) => {
        if (state.state === 'online') say('Connected: the server sees this detector online.');
        if (state.state === 'waiting') say(`Disconnected (${state.reason}); retrying in ${(state.delayMs / 1000).toFixed(1)} s.`);
        if (state.state === 'stopped') {
          say(`Stopped: ${state.reason}.`);
          process.exitCode = 1;
        }
      },
      onChange: (change) => say(`${change.type === 'attach' ? 'Key plugged in' : 'Key removed'}: ${change.key.product ?? 'FIDO key'} (${change.key.serialNumber ?? 'no serial'})`),
      onError: (error) => say(`Warning: ${error.message}`),
    });
    await client.start();
    const stop = () => {
      client.stop();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return new Promise<number>(() => undefined);
  }

  say(USAGE);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const known = error instanceof PairingError || error instanceof NotPairedError || error instanceof HidUnavailableError;
    process.stderr.write(`argus-detector: ${known ? (error as Error).message : String((error as Error)?.message ?? error)}\n`);
    process.exit(1);
  },
);
