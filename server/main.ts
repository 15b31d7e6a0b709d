import { ConfigError, loadConfig } from './config.ts';
import { MigrationDriftError } from './db/migrate.ts';
import { RedisNotInstalledError } from './infra/localRedis.ts';
import { createLogger } from './log.ts';
import { startArgus } from './runtime.ts';

/** `npm start`: one Argus node serving the built SPA, the API and (later) the WebSocket. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  let running;
  try {
    running = await startArgus(config, log);
  } catch (error) {
    // Nothing a restart fixes: say what to do and stop (exit 2), so a supervisor does not loop.
    if (error instanceof RedisNotInstalledError || error instanceof MigrationDriftError) {
      console.error(error.message);
      process.exit(2);
    }
    log.fatal({ err: error }, 'Argus failed to start');
    process.exit(1);
  }
  log.info({ url: config.origin, listening: running.url }, `Argus is running at ${config.origin}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    await running.close().catch((error: unknown) => log.error({ err: error }, 'error during shutdown'));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

void main();
