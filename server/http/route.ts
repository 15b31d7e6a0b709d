import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { Role } from '../../shared/api.ts';
import type { FieldIssue } from '../../shared/errors.ts';
import type { AuditContext } from '../audit/record.ts';
import type { UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import { stepUpValidUntil } from '../auth/stepUp.ts';
import { HttpError, badRequest, forbidden, unauthenticated } from './errors.ts';
import { headerText } from './headerText.ts';
import { consumeRouteLimit, type RouteLimit } from './routeLimit.ts';

/**
 * Who may call a route. There is no default: every route states its rule, so a route
 * without one cannot be written by accident (the type requires it).
 * - 'public': anyone, signed in or not;
 * - 'signed-in': any fully signed-in user;
 * - a list of roles: only those.
 */
export type Access = 'public' | 'signed-in' | readonly [Role, ...Role[]];

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

export interface RouteContext<B, P, Q, A extends Access> {
  req: Request;
  res: Response;
  deps: Deps;
  body: B;
  params: P;
  query: Q;
  user: A extends 'public' ? UserRow | null : UserRow;
  audit: AuditContext;
}

export interface RouteResult<R = unknown> {
  status?: number;
  body?: R;
}

/**
 * A route's response body type, named where the route is defined
 * (`response: responds<UserListResponse>()`): the handler's `body` is checked against it.
 * Types only, nothing is checked at run time: the server writes these bodies itself.
 */
export interface Responds<R> {
  readonly body?: R;
}
export function responds<R>(): Responds<R> {
  return {};
}

export interface RouteSpec<B = unknown, P = unknown, Q = unknown, A extends Access = Access, R = unknown> {
  method: Method;
  path: string;
  access: A;
  summary: string;
  /**
   * A sensitive change: it also needs a WebAuthn assertion made in this session within the
   * last STEP_UP_MINUTES (403 STEP_UP_REQUIRED otherwise). Every admin change sets it.
   */
  stepUp?: boolean;
  /**
   * A POST that reads and changes nothing (it may still be audited), such as an export:
   * exempt from the step-up every admin change needs.
   */
  readOnly?: boolean;
  /** A per-caller request budget for a costly route (checked once the input is valid). */
  rateLimit?: RouteLimit;
  body?: z.ZodType<B>;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  /**
   * The body a success answers with. Without it the route answers no body (204, or a
   * stream its handler writes itself): a handler that returns one does not compile.
   */
  response?: Responds<R>;
  // Method syntax: its parameter is compared bivariantly, so any route is a RouteSpec.
  handler(ctx: RouteContext<B, P, Q, A>): Promise<RouteResult<NoInfer<R>>>;
}

/**
 * Ties a route's schemas to its handler's input types, and its `response` to the body the
 * handler returns (R is read from `response` alone, never from the handler).
 */
export function defineRoute<B = undefined, P = Record<string, never>, Q = Record<string, never>, A extends Access = Access, R = undefined>(
  spec: RouteSpec<B, P, Q, A, R>,
): RouteSpec {
  return spec;
}

/** Empty schemas for routes that take no body, params or query: extra input is refused. */
export const NoQuery = z.object({}).strict();

function issuesOf(error: z.ZodError, where: string): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

/** A UTF-16 surrogate without its pair: JSON can carry one (`"\ud800"`), UTF-8 cannot. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether a string anywhere in a parsed input (values or keys) holds U+0000 or a lone
 * surrogate. Postgres text and jsonb cannot store either (22021, 22P05, 22P02: audit details
 * are jsonb, and they quote input), so both are refused at the boundary for every route.
 * Bodies nest at most JSON_MAX_DEPTH levels, so the walk is short.
 */
function containsUnstorableText(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000') || LONE_SURROGATE.test(value);
  if (typeof value !== 'object' || value === null) return false;
  for (const [key, inner] of Object.entries(value)) {
    if (containsUnstorableText(key) || containsUnstorableText(inner)) return true;
  }
  return false;
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, where: 'body' | 'params' | 'query'): T {
  // No query string on a route that takes none (most requests): what NoQuery would answer, without running it.
  if (schema === NoQuery && isEmptyObject(value)) return {} as T;
  if (containsUnstorableText(value)) {
    throw badRequest(`The ${where} holds a NUL character (U+0000) or a lone UTF-16 surrogate, which no field accepts.`, [
      { path: where, message: 'no NUL characters or lone surrogates' },
    ]);
  }
  if (!schema) {
    if (where === 'body' && value !== undefined && !(typeof value === 'object' && value !== null && Object.keys(value).length === 0)) {
      throw badRequest('This request takes no body.');
    }
    return undefined as T;
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = issuesOf(result.error, where);
    // People read the message; programs read `issues`.
    const described = issues.map((issue) => `${issue.path.slice(where.length + 1) || where}: ${issue.message}`);
    throw badRequest(`Please correct ${described.length === 1 ? 'this' : 'these'}: ${described.slice(0, 5).join('; ')}.`, issues);
  }
  return result.data;
}

function isEmptyObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  for (const _ in value) return false;
  return Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null;
}

export function auditContextOf(req: Request, user: UserRow | null): AuditContext {
  return {
    actor: user ? { id: user.id, username: user.username } : null,
    ip: req.ip ?? null,
    // Non-ASCII text as the client sent it (Node reads header bytes as Latin-1).
    userAgent: headerText(req.get('user-agent')) ?? null,
  };
}

function authorize(access: Access, user: UserRow | null, sessionEnded: boolean): void {
  if (access === 'public') return;
  if (!user) throw sessionEnded ? new HttpError(401, 'SESSION_ENDED', 'Your session has ended. Sign in again.') : unauthenticated();
  if (access === 'signed-in') return;
  if (!access.includes(user.role)) throw forbidden();
}

/** Mounts routes on a router: guards (access, step-up, input, then the route's request budget), then the handler. */
export function mountRoutes(router: Router, deps: Deps, routes: readonly RouteSpec[]): void {
  for (const route of routes) {
    router[route.method](route.path, async (req: Request, res: Response) => {
      const user = req.user ?? null;
      // Access before input: an unauthorised caller learns nothing about the route's schema.
      authorize(route.access, user, req.sessionEnded === true);
      // Step-up after access: a caller without the role learns nothing about what the route needs.
      if (route.stepUp && !stepUpValidUntil(req, deps.config)) throw new HttpError(403, 'STEP_UP_REQUIRED', 'Touch your security key to confirm this change.');
      const body = parse(route.body, req.body, 'body');
      const params = parse(route.params ?? undefined, req.params, 'params');
      const query = parse(route.query ?? NoQuery, req.query, 'query');
      if (route.rateLimit) await consumeRouteLimit(deps, route.rateLimit, user ? `user:${user.id}` : `ip:${req.ip ?? 'unknown'}`);
      let audit: AuditContext | undefined;
      const result = await route.handler({
        req,
        res,
        deps,
        body,
        params,
        query,
        user: user as UserRow,
        // Built when a handler first reads it: most never do (a read records nothing).
        get audit() {
          return (audit ??= auditContextOf(req, user));
        },
      });
      if (res.headersSent) return;
      if (result.body === undefined) res.status(result.status ?? 204).end();
      else res.status(result.status ?? 200).json(result.body);
    });
  }
}

export { HttpError };
