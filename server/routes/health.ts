import cluster from 'node:cluster';
import express from 'express';
import type { Deps } from '../deps.ts';
import { hasLeastPrivilege, readDatabasePrivileges } from '../db/privileges.ts';
import { getOpenChainAlarm } from '../db/auditIntegrity.ts';

/**
 * /healthz: the process is up. /readyz: Postgres and Redis both answer and this node hears
 * other nodes' events (its bus subscription is up), so a load balancer can take a node out
 * while any of them is away.
 */
export function healthRoutes({ pool, redis, bus, fidoMetadata }: Pick<Deps, 'pool' | 'redis' | 'bus' | 'fidoMetadata'>): express.Router {
  const router = express.Router();
  // Under ARGUS_WORKERS > 1, which worker answered (server/cluster.ts): cheap, not secret, and how an operator or a test tells them apart.
  const alive = cluster.isWorker ? { status: 'ok', worker: cluster.worker!.id } : { status: 'ok' };
  router.get('/healthz', (_req, res) => {
    res.json(alive);
  });
  router.get('/readyz', async (_req, res) => {
    // leastPrivilege false: this node's database role can rewrite the audit tables (sql/000015).
    // Reported, never a reason to take the node out; null while Postgres does not answer.
    const database: { leastPrivilege: boolean | null } = { leastPrivilege: null };
    const [postgres, redisOk, auditChain] = await Promise.all([
      // The ping is the privilege check: one catalog query.
      withTimeout(readDatabasePrivileges(pool).then((privileges) => ((database.leastPrivilege = hasLeastPrivilege(privileges)), true))),
      withTimeout(redis.ping().then((pong) => pong === 'PONG')),
      auditChainDetail(pool),
    ]);
    const events = bus.subscribed;
    const ready = postgres && redisOk && events;
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'unavailable',
      postgres: postgres ? 'ok' : 'down',
      redis: redisOk ? 'ok' : 'down',
      events: events ? 'ok' : 'down',
      // FIDO metadata (FIDO_MDS_FILE): reported, never a reason to take the node out (docs/deploy.md "FIDO metadata").
      details: { database, auditChain, fidoMetadata: fidoMetadata.summary() },
    });
  });
  return router;
}

function withTimeout(check: Promise<boolean>, ms = 2_000): Promise<boolean> {
  return Promise.race([check.catch(() => false), new Promise<boolean>((resolve) => setTimeout(resolve, ms, false).unref())]);
}

/**
 * The audit chain as the checkpoint timer found it (docs/audit-chain.md): intact false while a
 * break waits for an auditor's acknowledgement, and no node signs checkpoints. Reported, never
 * a reason to take the node out (every node shares the chain); null while Postgres does not answer.
 */
type AuditChainDetail =
  | { intact: true }
  | { intact: false; alarmId: number; brokenSeq: number; reason: string; detectedAt: string; headSeq: number | null }
  | { intact: null };

async function auditChainDetail(pool: Deps['pool'], ms = 2_000): Promise<AuditChainDetail> {
  const unknown = new Promise<AuditChainDetail>((resolve) => setTimeout(resolve, ms, { intact: null }).unref());
  const read = getOpenChainAlarm(pool).then(
    (alarm): AuditChainDetail =>
      alarm
        ? { intact: false, alarmId: alarm.id, brokenSeq: alarm.brokenSeq, reason: alarm.reason, detectedAt: alarm.detectedAt, headSeq: alarm.headSeq }
        : { intact: true },
    (): AuditChainDetail => ({ intact: null }),
  );
  return Promise.race([read, unknown]);
}
