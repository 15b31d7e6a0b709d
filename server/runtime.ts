import cluster from 'node:cluster';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import { createApp, type AppOptions } from './app.ts';
import { HashLimiter } from './auth/hashLimiter.ts';
import { PasswordHasher } from './auth/password.ts';
import { RedisSessionStore } from './auth/sessionStore.ts';
import { SessionReadCache } from './auth/sessionReadCache.ts';
import { SignInThrottle } from './auth/signInThrottle.ts';
import type { Config } from './config.ts';
import { createPool } from './db/pool.ts';
import type { Deps } from './deps.ts';
import { checkServerRole, prepareDatabase } from './infra/database.ts';
import { startLocalRedis } from './infra/localRedis.ts';
import type { Logger } from './log.ts';
import { connectRedis } from './redis.ts';
import { ChallengeStore } from './webauthn/challenges.ts';
import { EventBus, type Envelope } from './realtime/bus.ts';
import { GrantService } from './grants/grants.ts';
import { AuditOutbox } from './outbox/auditOutbox.ts';
import { RecordMac } from './crypto/recordMac.ts';
import { ForgedRecordAlarm } from './crypto/forgedRecordAlarm.ts';
import { auditFeed } from './realtime/auditFeed.ts';
import { SharedChannel, startPgListener } from './realtime/pgListener.ts';
import { AUDIT_CHANNEL } from './db/audit.ts';
import { setActiveGrantsSource, setAuditOutboxSource } from './metrics.ts';
import { startMetricsListener } from './http/metricsRoutes.ts';
import { ROW_CHANGE_CHANNEL, RowCache } from './cache/rowCache.ts';
import type { KeyRow } from './db/keys.ts';
import type { UserRow } from './db/users.ts';
import type { ModelRow } from './db/models.ts';
import { attachHub, type Hub, type SessionParser } from './realtime/hub.ts';
import { attachDetectorHub, type DetectorHub } from './detector/detectorHub.ts';
import { AuditSigner } from './audit/signingKey.ts';
import { startCheckpointTimer, type CheckpointTimer } from './audit/checkpointTimer.ts';
import { startPendingChangeExpiry } from './pendingChanges/decideChange.ts';
import { startAuditSinks } from './audit/sinks/sinks.ts';
import { FidoMetadata } from './webauthn/fidoMetadata.ts';
import { startFidoMetadata } from './keys/loadFidoMetadata.ts';
import { startConversationEncryption } from './conversations/dataKeyJobs.ts';
import { OidcRelyingParty } from './oidc/relyingParty.ts';

export interface Running {
  deps: Deps;
  app: express.Express;
  server: Server;
  hub: Hub;
  /** Paired detectors' connections at /ws/detector. */
  detectors: DetectorHub;
  /** The node's checkpoint timer: verifies the audit chain, then signs its head (or raises a break). */
  checkpoints: CheckpointTimer;
  url: string;
  /** Closes the HTTP server, then Redis and Postgres, then any child services. */
  close(): Promise<void>;
}

/**
 * Resolves the database and Redis (starting embedded ones when no URL is set). The database is
 * migrated as its owner here, or found up to date (infra/database.ts); `databaseUrl` is then
 * the server's own, least-privileged role.
 */
export async function resolveServices(config: Config, log: Logger) {
  const stops: Array<() => Promise<void>> = [];
  try {
    const database = await prepareDatabase({ config, log });
    stops.push(database.stop);
    const databaseUrl = database.url;
    let redisUrl = config.redisUrl;
    if (!redisUrl) {
      const local = await startLocalRedis({ dataDir: config.dataDir, port: config.embeddedPorts.redis, log });
      stops.push(local.stop);
      redisUrl = local.url;
    }
    return { databaseUrl, redisUrl, stop: () => stopAll(stops) };
  } catch (error) {
    await stopAll(stops);
    throw error;
  }
}

async function stopAll(stops: Array<() => Promise<void>>): Promise<void> {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}

export async function buildDeps(config: Config, log: Logger, urls: { databaseUrl: string; redisUrl: string }): Promise<Deps> {
  const pool = createPool(urls.databaseUrl, log);
  const redis = await connectRedis(urls.redisUrl, config.redisKeyPrefix, log, config.redisSentinel).catch(async (error: unknown) => {
    await pool.end();
    throw error;
  });
  const bus = await EventBus.connect(urls.redisUrl, config.redisKeyPrefix, log, config.redisSentinel).catch(async (error: unknown) => {
    redis.disconnect();
    await pool.end();
    throw error;
  });
  const idleMs = config.session.idleMinutes * 60_000;
  // Grant, outbox and session records carry a MAC under the nodes' key: Redis alone cannot mint them (threat-model G4).
  const integrity = { mac: new RecordMac(config.grants.signingKeys), forgedRecords: new ForgedRecordAlarm(pool, log) };
  const auditOutbox = new AuditOutbox(redis, pool, log, integrity);
  const grants = new GrantService(redis, auditOutbox, bus, log, config.grants.warnSeconds, integrity);
  const sessionReads =
    config.session.cacheSeconds > 0
      ? await SessionReadCache.connect({ url: urls.redisUrl, keyPrefix: config.redisKeyPrefix, sentinel: config.redisSentinel, log, fallback: redis, ttlMs: config.session.cacheSeconds * 1_000 }).catch(async (error: unknown) => {
          await bus.close();
          redis.disconnect();
          await pool.end();
          throw error;
        })
      : null;
  const sessions = new RedisSessionStore(redis, { ...integrity, log }, idleMs, config.session.maxHours * 3_600_000, undefined, sessionReads);
  // A session that ends, however it ends, takes its grant and its sockets with it.
  // The grant's GRANT_REVOKED goes out before SESSION_ENDED, which closes the session's sockets.
  sessions.onDestroyed = (sid) => {
    grants
      .endForSession(sid, 'session_ended', null)
      .catch((error: unknown) => log.warn({ err: (error as Error).message }, 'grant not ended with session'))
      .finally(() => bus.notify({ sessionId: sid }, { type: 'SESSION_ENDED' }));
  };
  return {
    config,
    log,
    pool,
    redis,
    bus,
    grants,
    auditOutbox,
    sessions,
    hasher: new PasswordHasher(new HashLimiter(config.argon2.maxConcurrent, config.argon2.maxQueue)),
    signInThrottle: new SignInThrottle(redis, config.rateLimits, config.sessionSecret),
    challenges: new ChallengeStore(redis, config.webauthn.challengeTtlSeconds),
    rows: {
      users: new RowCache<UserRow>(ROW_CACHE_TTL_MS, 50_000),
      models: new RowCache<ModelRow>(ROW_CACHE_TTL_MS, 1_000),
      keys: new RowCache<KeyRow>(ROW_CACHE_TTL_MS, 50_000),
    },
    auditSigner: AuditSigner.fromPem(config.audit.signingKeyPem, config.audit.retiredPublicKeysPem),
    fidoMetadata: new FidoMetadata(config.attestation.mdsFile !== null),
    oidc: config.oidc ? new OidcRelyingParty(config.oidc, log) : null,
  };
}

/** How long a client may take to send its headers, and its whole request. */
export const SLOW_CLIENT_LIMITS = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, checkEveryMs: 2_000 };

/** Who the live audit feed is for. */
const STAFF: Envelope['target'] = { roles: ['admin', 'auditor'] };

/** How long a cached row may live if its change notification were somehow lost. */
const ROW_CACHE_TTL_MS = 10_000;

/**
 * The node's one Postgres LISTEN connection: committed audit events go to this node's admin and
 * auditor sockets (and wake the node's SIEM sink delivery, which subscribes to `auditAppended`),
 * and changed rows leave the row caches (which are used only while it is up).
 */
function listenToPostgres({ rows, log, pool }: Deps, databaseUrl: string, hub: Hub): { stop: () => Promise<void>; auditAppended: SharedChannel } {
  const caches: Record<string, { invalidate(id: string): void }> = { app_user: rows.users, model: rows.models, security_key: rows.keys };
  const auditAppended = new SharedChannel(AUDIT_CHANNEL, log);
  auditAppended.subscribe(
    auditFeed({
      pool,
      log,
      wanted: () => hub.hasListeners(STAFF),
      onEvent: (event) => hub.deliverLocal(STAFF, { type: 'SECURITY_EVENT', event }),
    }),
  );
  const stop = startPgListener({
    databaseUrl,
    log,
    channels: {
      [AUDIT_CHANNEL]: auditAppended.dispatch,
      [ROW_CHANGE_CHANNEL]: (payload) => {
        const at = payload.indexOf(':');
        caches[payload.slice(0, at)]?.invalidate(payload.slice(at + 1));
      },
    },
    onLive: (live) => {
      rows.users.setLive(live);
      rows.models.setLive(live);
      rows.keys.setLive(live);
    },
  });
  return { stop, auditAppended };
}

/** Starts one Argus node: services, migrations, HTTP. */
export async function startArgus(config: Config, log: Logger, appOptions: AppOptions = {}): Promise<Running> {
  const services = await resolveServices(config, log);
  let deps: Deps | null = null;
  try {
    deps = await buildDeps(config, log, services);
    // Migrated (or checked) in resolveServices; a role that can still write the audit tables is only warned about.
    await checkServerRole(deps.pool, log);
    // FIDO metadata (FIDO_MDS_FILE): loaded now and on every SIGHUP; a refused blob never stops the node.
    const stopFidoMetadata = await startFidoMetadata(deps);
    // Company sign-in: discovered now so a wrong OIDC_ISSUER shows at once; an unreachable provider never stops the node.
    deps.oidc?.start();
    const app = createApp(deps, appOptions);
    // Slow-loris bounds: headers within 10 s, whole requests within 30 s. Node enforces them
    // when it sweeps connections, every 30 s by default: sweep every 2 s so they hold.
    const server = createServer({ headersTimeout: SLOW_CLIENT_LIMITS.headersTimeoutMs, requestTimeout: SLOW_CLIENT_LIMITS.requestTimeoutMs, connectionsCheckingInterval: SLOW_CLIENT_LIMITS.checkEveryMs }, app);
    const hub = attachHub(server, deps, app.get('session parser') as SessionParser);
    const detectors = attachDetectorHub(server, deps);
    const stopSweeper = deps.grants.startSweeper();
    const stopOutbox = deps.auditOutbox.start();
    const stopPendingChangeExpiry = startPendingChangeExpiry(deps);
    const listener = listenToPostgres(deps, services.databaseUrl, hub);
    const grantsForMetrics = deps.grants;
    setActiveGrantsSource(() => grantsForMetrics.countLive());
    const outboxForMetrics = deps.auditOutbox;
    setAuditOutboxSource(() => outboxForMetrics.pending());
    // Under ARGUS_WORKERS > 1 the cluster primary serves METRICS_PORT, with every worker's metrics (server/cluster.ts).
    const metricsServer = config.metrics.port && !cluster.isWorker ? await startMetricsListener({ ...config.metrics, port: config.metrics.port }) : null;
    const checkpoints = startCheckpointTimer({ pool: deps.pool, signer: deps.auditSigner, seconds: config.audit.checkpointSeconds, log });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    // SIEM streaming (AUDIT_SINK_*, AUDIT_CHECKPOINT_FILE): on connections of its own, so a sink that is down never holds up appends;
    // woken by the node's listener rather than a LISTEN connection of its own.
    const stopAuditSinks = startAuditSinks({ sinks: config.audit.sinks, databaseUrl: services.databaseUrl, pool: deps.pool, log, auditAppended: listener.auditAppended });
    // Restricted conversations sql/000023 marked but could not encrypt (no key in SQL): in the background, one node at a time.
    const conversationEncryption = startConversationEncryption(deps);
    const ready = deps;
    return {
      deps: ready,
      app,
      server,
      url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
      hub,
      detectors,
      checkpoints,
      async close() {
        stopSweeper();
        stopOutbox();
        stopPendingChangeExpiry();
        await listener.stop();
        await new Promise((resolve) => (metricsServer ? metricsServer.close(resolve) : resolve(null)));
        checkpoints.stop();
        await stopAuditSinks();
        stopFidoMetadata();
        await conversationEncryption();
        hub.close();
        detectors.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          setTimeout(() => server.closeAllConnections(), 5_000).unref();
        });
        await ready.bus.close();
        await ready.sessions.close();
        await ready.redis.quit().catch(() => ready.redis.disconnect());
        await ready.pool.end();
        await services.stop();
      },
    };
  } catch (error) {
    if (deps) {
      await deps.bus.close();
      await deps.sessions.close();
      deps.redis.disconnect();
      await deps.pool.end().catch(() => undefined);
    }
    await services.stop();
    throw error;
  }
}
