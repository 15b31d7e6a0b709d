import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cookieRefreshMs, refreshCookieWhenDue, sessionUser } from './auth/sessionUser.ts';
import { SESSION_COOKIE } from './routes/auth.ts';
import type { Deps } from './deps.ts';
import { requireSameOriginJson } from './http/csrf.ts';
import { HttpError, toErrorResponse } from './http/errors.ts';
import { requestLog } from './http/requestLog.ts';
import { mountRoutes, type RouteSpec } from './http/route.ts';
import { securityHeaders } from './http/securityHeaders.ts';
import { JSON_MAX_DEPTH, refuseDeepJson } from './http/jsonDepth.ts';
import { openApiRoute } from './http/openapi.ts';
import { countLimited, metricsWithToken } from './http/metricsRoutes.ts';
import { accountRoutes } from './routes/account.ts';
import { chatRoutes } from './routes/chat.ts';
import { conversationRoutes } from './routes/conversations.ts';
import { grantRoutes } from './routes/grants.ts';
import { modelRoutes } from './routes/models.ts';
import { adminKeyRoutes, adminRoutes } from './routes/admin.ts';
import { auditRoutes } from './routes/audit.ts';
import { auditSinkRoutes } from './routes/auditSinks.ts';
import { authRoutes } from './routes/auth.ts';
import { enrollmentRoutes } from './routes/enrollment.ts';
import { healthRoutes } from './routes/health.ts';
import { detectorRoutes } from './routes/detectors.ts';

/** package.json's version, for the API document. */
const ARGUS_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
import { adminModelRoutes } from './routes/adminModels.ts';
import { adminLiveRoutes } from './routes/adminLive.ts';
import { adminOverviewRoutes } from './routes/adminOverview.ts';
import { dataKeyRoutes } from './routes/dataKeys.ts';
import { pendingChangeRoutes } from './routes/pendingChanges.ts';
import { oidcBackchannelRoute, oidcRoutes } from './routes/oidc.ts';

export const CLIENT_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/client');

/** Every API route, in one list: mounted here, and walked by the authorisation tests. */
export const API_ROUTES: readonly RouteSpec[] = [
  ...authRoutes,
  ...oidcRoutes,
  ...enrollmentRoutes,
  ...accountRoutes,
  ...modelRoutes,
  ...grantRoutes,
  ...chatRoutes,
  ...conversationRoutes,
  ...adminRoutes,
  ...adminKeyRoutes,
  ...auditRoutes,
  ...auditSinkRoutes,
  ...detectorRoutes,
  ...adminModelRoutes,
  ...adminLiveRoutes,
  ...adminOverviewRoutes,
  ...dataKeyRoutes,
  ...pendingChangeRoutes,
  openApiRoute(() => API_ROUTES, ARGUS_VERSION),
];

export interface AppOptions {
  /** Serve the built SPA from dist/client (production), or let the caller mount Vite (dev). */
  serveClient?: boolean;
  /** Mounted before the SPA fallback, e.g. Vite's dev middleware. */
  clientMiddleware?: express.RequestHandler;
}

export function createApp(deps: Deps, options: AppOptions = {}): express.Express {
  const { config, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  // API answers are per-user JSON that no one caches: no hash of every body (and a short body then
  // leaves in one write with its headers). Static files keep theirs (express.static has its own);
  // index.html is revalidated by Last-Modified.
  app.set('etag', false);
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', 'simple');

  app.use(requestLog(log));
  app.use(securityHeaders({ https: config.secureCookies, viteDev: options.clientMiddleware !== undefined }));
  // Routers with a path or two of their own are entered only for those paths: every other
  // request would otherwise walk their layers too.
  app.use(onlyOnItsPaths(healthRoutes(deps)));
  if (config.metrics.token) app.get('/metrics', metricsWithToken(config.metrics.token));
  // The provider's back-channel logout: form-encoded, no session, no Origin, so before the API router's CSRF guard.
  app.use(onlyOnItsPaths(oidcBackchannelRoute(deps)));

  const api = express.Router();
  api.use(requireSameOriginJson(config.origin));
  const jsonBody = express.json({ limit: config.bodyLimitBytes, strict: true, type: 'application/json', verify: refuseDeepJson });
  // A request without a body (most GETs) has nothing to parse: body-parser would only say so.
  api.use((req, res, next) => (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined ? next() : jsonBody(req, res, next)));
  const rolling = config.sessionSecrets.length > 1;
  const sessionParser = session({
      name: SESSION_COOKIE,
      // The first signs; all verify (express-session tries each), so secrets can be rotated without signing everyone out.
      secret: config.sessionSecrets,
      store: deps.sessions,
      resave: false,
      saveUninitialized: false,
      // Requests push the idle timeout forward in Redis (the store does so at most every 5 s per node), and
      // the cookie's copy of it once it is cookieRefreshMs old (refreshCookieWhenDue below), not with
      // every response; the absolute lifetime is enforced by sessionUser. While secrets are being
      // rotated (more than one listed), every answer re-signs the cookie with the first, as `rolling` does.
      rolling,
      unset: 'destroy',
      cookie: {
        httpOnly: true,
        sameSite: 'lax',
        secure: config.secureCookies,
        path: '/',
        maxAge: config.session.idleMinutes * 60_000,
      },
    });
  // The WebSocket hub authenticates upgrades with the very same session parser.
  app.set('session parser', sessionParser);
  // A session that could not be loaded (Redis away) is not "unset": without this, express-session
  // (unset: 'destroy') would delete it as the error answer ends, signing its user out over a blip.
  const refreshMs = cookieRefreshMs(config.session.idleMinutes);
  api.use((req, res, next) =>
    sessionParser(req, res, (error?: unknown) => {
      if (error) req.sessionID = undefined as unknown as string;
      else if (!rolling) refreshCookieWhenDue(req, refreshMs);
      next(error);
    }),
  );
  api.use(sessionUser(deps));
  mountRoutes(api, deps, API_ROUTES);
  api.use((_req, _res, next) => next(new HttpError(404, 'NOT_FOUND', 'No such API endpoint.')));
  // Kept for the test that checks every mounted API route is in the OpenAPI document.
  app.set('api router', api);
  // The API router sees only /api/ paths; everything else is the SPA.
  app.use((req, res, next) => (req.path.startsWith('/api/') ? api(req, res, next) : next()));

  if (options.clientMiddleware) app.use(options.clientMiddleware);
  if (options.serveClient ?? true) serveSpa(app);

  app.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const { status, body, logLevel } = toErrorResponse(bodyParserError(error) ?? urlDecodeError(error) ?? error, req.requestId);
    log[logLevel]({ reqId: req.requestId, code: body.error.code, err: logLevel === 'info' ? undefined : error }, 'request failed');
    countLimited(req, body.error.code);
    if (body.error.retryAfter) res.setHeader('Retry-After', String(body.error.retryAfter));
    res.status(status).json(body);
  });
  return app;
}

/**
 * A router entered only by requests for one of its routes' paths, as the router itself matches
 * them (case-insensitive, a trailing slash allowed); everyone else goes straight on.
 */
function onlyOnItsPaths(router: express.Router): express.RequestHandler {
  const normalise = (path: string) => (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).toLowerCase();
  const paths = new Set<string>();
  for (const layer of router.stack) {
    const path: unknown = layer.route?.path;
    if (typeof path !== 'string') throw new Error('onlyOnItsPaths: the router has a layer without a plain route path');
    paths.add(normalise(path));
  }
  return (req, res, next) => {
    const path = req.path;
    return paths.has(path) || paths.has(normalise(path)) ? router(req, res, next) : next();
  };
}

/** Maps body-parser's errors (they carry `type`) to our codes. */
function bodyParserError(error: unknown): HttpError | null {
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large') return new HttpError(413, 'PAYLOAD_TOO_LARGE', 'The request body is too large.');
  if (type === 'entity.too.deep') return new HttpError(400, 'JSON_TOO_DEEP', `The request body nests deeper than ${JSON_MAX_DEPTH} levels.`);
  if (type === 'entity.parse.failed') return new HttpError(400, 'MALFORMED_JSON', 'The request body is not valid JSON.');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the request body as UTF-8 JSON.');
  }
  if (typeof type === 'string' && type.startsWith('request.')) {
    return new HttpError(400, 'VALIDATION_FAILED', 'The request body could not be read.');
  }
  // A Content-Encoding whose body does not decompress: zlib's (Z_DATA_ERROR…) or Brotli's
  // (ERR__ERROR_FORMAT_…) error, passed on untyped.
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^(?:Z_|ERR__ERROR_)/.test(code)) {
    return new HttpError(400, 'VALIDATION_FAILED', 'The request body does not match its Content-Encoding.');
  }
  return null;
}

/** The router could not percent-decode a path parameter (e.g. `/api/users/%E0%A4%A`): the client's mistake. */
function urlDecodeError(error: unknown): HttpError | null {
  if (error instanceof URIError) return new HttpError(400, 'VALIDATION_FAILED', 'The URL is not valid percent-encoding.');
  return null;
}

function serveSpa(app: express.Express): void {
  const index = path.join(CLIENT_DIST, 'index.html');
  app.use(express.static(CLIENT_DIST, { index: false, maxAge: '1h', immutable: false }));
  // Client-side routes (/signin, /enroll/…) all load the SPA's index.html.
  app.get(/^(?!\/api\/|\/healthz$|\/readyz$|\/metrics$).*/, (_req, res, next) => {
    if (!existsSync(index)) return next(new HttpError(404, 'NOT_FOUND', 'The web app is not built. Run `npm run build`.'));
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
}
