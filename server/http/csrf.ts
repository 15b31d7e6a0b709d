import type { NextFunction, Request, Response } from 'express';
import { HttpError } from './errors.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cross-site request forgery guard for every state-changing request:
 * 1. it must come from our own origin — the Origin header when the browser sends one,
 *    else Fetch Metadata (Sec-Fetch-Site: same-origin); a request with neither is refused;
 * 2. a body must be JSON, which a cross-site HTML form cannot send.
 */
export function requireSameOriginJson(origin: string) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (SAFE_METHODS.has(req.method)) return next();
    const requestOrigin = req.get('origin');
    const fetchSite = req.get('sec-fetch-site');
    if (requestOrigin !== undefined) {
      if (requestOrigin !== origin) {
        return next(new HttpError(403, 'CSRF_REJECTED', 'Cross-origin requests are not allowed.'));
      }
    } else if (fetchSite !== 'same-origin') {
      return next(new HttpError(403, 'CSRF_REJECTED', 'This request must come from the Argus app (missing Origin).'));
    }
    const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
    if ((hasBody || req.method !== 'DELETE') && !req.is('application/json')) {
      return next(new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json.'));
    }
    next();
  };
}
