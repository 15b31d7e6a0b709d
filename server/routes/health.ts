import express from 'express';
import type { Deps } from '../deps.ts';

/**
 * /healthz: the process is up. /readyz: Postgres and Redis both answer, so a load
 * balancer can take a node out while either is away.
 */
export function healthRoutes({ pool, redis }: Pick<Deps, 'pool' | 'redis'>): express.Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [postgres, redisOk] = await Promise.all([
      withTimeout(pool.query('SELECT 1').then(() => true)),
      withTimeout(redis.ping().then((pong) => pong === 'PONG')),
    ]);
    const ready = postgres && redisOk;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', postgres: postgres ? 'ok' : 'down', redis: redisOk ? 'ok' : 'down' });
  });
  return router;
}

function withTimeout(check: Promise<boolean>, ms = 2_000): Promise<boolean> {
  return Promise.race([check.catch(() => false), new Promise<boolean>((resolve) => setTimeout(resolve, ms, false).unref())]);
}
