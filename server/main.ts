import cluster from 'node:cluster';
import { announceWorkerReady, EXIT_NOT_RETRYABLE, joinClusterMetrics, runClusterPrimary } from './cluster.ts';
import { ConfigError, loadConfig } from './config.ts';
import { MigrationDriftError } from './db/migrate.ts';
import { RedisNotInstalledError } from './infra/localRedis.ts';
import { createLogger } from './log.ts';
import { startArgus } from './runtime.ts';

/**
 * `npm start`: Argus serving the built SPA, the API and the WebSockets. With ARGUS_WORKERS > 1
 * this process is the node:cluster primary (server/cluster.ts) and every worker runs `node()`.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(EXIT_NOT_RETRYABLE);
    }
    throw error;
  }
  if (cluster.isPrimary && config.workers > 1) {
    const log = createLogger(config.logLevel, { cluster: 'primary' });
    try {
      process.exit(await runClusterPrimary({ config, log }));
    } catch (error) {
      failedToStart(error, log);
    }
  }
  await node(config);
}

/** One Argus node: the whole process, or one cluster worker. */
async function node(config: ReturnType<typeof loadConfig>): Promise<void> {
  const worker = cluster.worker;
  const log = createLogger(config.logLevel, worker ? { worker: worker.id } : {});
  if (worker) joinClusterMetrics();
  let running;
  try {
    running = await startArgus(config, log);
  } catch (error) {
    failedToStart(error, log);
  }
  if (worker) {
    log.info({ listening: running.url }, 'worker listening');
    announceWorkerReady(running.url);
  } else log.info({ url: config.origin, listening: running.url }, `Argus is running at ${config.origin}`);

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

function failedToStart(error: unknown, log: ReturnType<typeof createLogger>): never {
  // Nothing a restart fixes: say what to do and stop (exit 2), so a supervisor (or the cluster primary) does not loop.
  if (error instanceof RedisNotInstalledError || error instanceof MigrationDriftError) {
    console.error(error.message);
    process.exit(EXIT_NOT_RETRYABLE);
  }
  log.fatal({ err: error }, 'Argus failed to start');
  process.exit(1);
}

void main();
