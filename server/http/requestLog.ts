import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../log.ts';

const INCOMING_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Gives every request an id (a sane incoming X-Request-Id is kept, for tracing through a
 * proxy) and logs one line when it finishes. The logged path is the route pattern where
 * there is one, so tokens in URLs (enrollment links) never reach the logs.
 */
export function requestLog(log: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.get('x-request-id');
    req.requestId = incoming && INCOMING_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.requestId);
    const started = performance.now();
    res.on('finish', () => {
      const pattern: unknown = req.route?.path;
      const route = typeof pattern === 'string' ? pattern : undefined;
      log.info(
        {
          reqId: req.requestId,
          method: req.method,
          route: route ?? (req.path.startsWith('/api/') ? 'unmatched' : 'static'),
          status: res.statusCode,
          ms: +(performance.now() - started).toFixed(1),
          userId: req.user?.id,
        },
        'request',
      );
    });
    next();
  };
}
