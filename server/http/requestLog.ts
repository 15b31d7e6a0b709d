import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../log.ts';
import { observeRequest, routeLabel } from './metricsRoutes.ts';

const INCOMING_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Gives every request an id (a sane incoming X-Request-Id is kept, for tracing through a
 * proxy), and when its response closes (a stream's whole life, for SSE) times it in the
 * request-duration histogram and logs one line if the response was finished. The logged and
 * measured path is the route pattern where there is one, so tokens in URLs (enrollment links)
 * never reach the logs or the metrics.
 * One listener per request for both, and the log line is built only when its level is on.
 */
export function requestLog(log: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.headers['x-request-id'];
    req.requestId = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.requestId);
    const started = performance.now();
    res.once('close', () => {
      const ms = performance.now() - started;
      const route = routeLabel(req);
      observeRequest(req.method, route, res.statusCode, ms / 1000);
      // A response that never finished (the client went away first) was not logged before either.
      if (!res.writableFinished || !log.isLevelEnabled('info')) return;
      log.info({ reqId: req.requestId, method: req.method, route, status: res.statusCode, ms: Math.round(ms * 10) / 10, userId: req.user?.id }, 'request');
    });
    next();
  };
}
