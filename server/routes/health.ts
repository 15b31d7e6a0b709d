import express from 'express';
import type { Deps } from '../deps.ts';

/**
 * /healthz: the process is up. /readyz: Postgres and Redis both answer and this node hears
 * other nodes' events (its bus subscription is up), so a load balancer can take a node out
 * while any of them is away.
 */
export function healthRoutes({ pool, redis, bus }: Pick<Deps, 'pool' | 'redis' | 'bus'>): express.Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [postgres, redisOk] = await Promise.all([
      withTimeout(pool.query('SELECT 1').then(() => true)),
      withTimeout(redis.ping().then((pong) => pong === 'PONG')),
    ]);
    const events = bus.subscribed;
    const ready = postgres && redisOk && events;
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'unavailable',
      postgres: postgres ? 'ok' : 'down',
      redis: redisOk ? 'ok' : 'down',
      events: events ? 'ok' : 'down',
    });
  });
  return router;
}

function withTimeout(check: Promise<boolean>, ms = 2_000): Promise<boolean> {
  return Promise.race([check.catch(() => false), new Promise<boolean>((resolve) => setTimeout(resolve, ms, false).unref())]);
}
