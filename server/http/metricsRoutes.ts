import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Request, Response } from 'express';
import type { Config } from '../config.ts';
import { exposition, httpDuration, rateLimitHits } from '../metrics.ts';

/** The route pattern a request matched (bounded label values), or what kind of path it was. */
export function routeLabel(req: Request): string {
  const route = (req as Request & { route?: { path?: unknown } }).route?.path;
  if (typeof route === 'string') return route;
  return req.path.startsWith('/api/') ? 'unmatched' : 'static';
}

/** Times a request to the end of its response (a stream's whole life, for SSE): requestLog calls it as the response closes. */
export function observeRequest(method: string, route: string, status: number, seconds: number): void {
  httpDuration.observe({ method, route, status: String(status) }, seconds);
}

const LIMITER_CODES = new Set(['RATE_LIMITED', 'TOO_MANY_STREAMS', 'SERVER_BUSY']);

/** Counts a refusal that a limiter made (called by the error handler with the response's code). */
export function countLimited(req: Request, code: string): void {
  if (LIMITER_CODES.has(code)) rateLimitHits.inc({ limiter: code, route: routeLabel(req) });
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** GET /metrics on the main port, for a bearer of the configured token only. */
export function metricsWithToken(token: string) {
  const expected = digest(`Bearer ${token}`);
  return async (req: Request, res: Response) => {
    const given = digest(req.get('authorization') ?? '');
    if (!timingSafeEqual(given, expected)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      res.status(401).json({ error: { code: 'UNAUTHENTICATED', message: 'Metrics need the bearer token.' } });
      return;
    }
    const { contentType, body } = await exposition();
    res.setHeader('Content-Type', contentType).send(body);
  };
}

/** /metrics alone on its own port, bound to an internal address: no token needed there. */
export async function startMetricsListener({ port, host }: Config['metrics'] & { port: number }): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || new URL(req.url ?? '/', 'http://x').pathname !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    exposition().then(
      ({ contentType, body }) => res.writeHead(200, { 'Content-Type': contentType }).end(body),
      () => res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
