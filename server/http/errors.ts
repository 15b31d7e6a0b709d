import type { ErrorBody, ErrorCode, FieldIssue } from '../../shared/errors.ts';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import { ServerBusyError } from '../auth/hashLimiter.ts';

/** An error a route means to answer with: a status, a stable code and a human message. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly extra: Pick<ErrorBody['error'], 'issues' | 'retryAfter' | 'conversation'> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, issues?: FieldIssue[]) =>
  new HttpError(400, 'VALIDATION_FAILED', message, issues ? { issues } : {});
export const notFound = (message = 'Not found.') => new HttpError(404, 'NOT_FOUND', message);
export const forbidden = (message = 'You do not have access to this.') => new HttpError(403, 'FORBIDDEN', message);
export const unauthenticated = (message = 'Sign in first.') => new HttpError(401, 'UNAUTHENTICATED', message);
export const rateLimited = (retryAfter: number, message = 'Too many attempts. Try again later.') =>
  new HttpError(429, 'RATE_LIMITED', message, { retryAfter });

/** Node's system error codes (node:net, node:dns) for a server that cannot be reached or went away. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Postgres SQLSTATE class 08: connection exception (08000, 08003 connection_does_not_exist, 08006 connection_failure…). */
const PG_CONNECTION_EXCEPTION_CLASS = '08';
/** Postgres 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or in recovery). */
const PG_SERVER_UNAVAILABLE = new Set(['57P01', '57P02', '57P03']);

/**
 * redis-errors' AbortError: ioredis rejects with it (or its MaxRetriesPerRequestError) the
 * commands it gives up on when the connection closes. ioredis exports only the subclass.
 */
const REDIS_ABORT_ERROR: object = Object.getPrototypeOf(MaxRetriesPerRequestError.prototype);

/**
 * The connection failures ioredis 6 and pg 8 raise as a bare `Error`, with no class or code
 * to tell them by. Only a bare Error with no code and exactly one of these messages counts.
 * server/http/dependencyDown.test.ts provokes the common ones from the library itself, so an
 * upgrade that changes one fails there rather than turning outages into 500s.
 */
const UNCODED_CONNECTION_FAILURES = new Set([
  // ioredis, enableOfflineQueue off (server/redis.ts): a command while disconnected.
  "Stream isn't writeable and enableOfflineQueue options is false",
  // ioredis: a command on a closed client.
  'Connection is closed.',
  // ioredis: commandTimeout elapsed.
  'Command timed out',
  // pg: the server went away during a query, or the client was ended under it.
  'Connection terminated unexpectedly',
  'Connection terminated',
  // pg: connectionTimeoutMillis elapsed; pg-pool: no client came free in time.
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  // pg: a query on a client whose connection already failed.
  'Client has encountered a connection error and is not queryable',
]);

/**
 * True when Postgres or Redis could not answer, told by the error's class or code. Those
 * requests fail closed with 503 SERVICE_UNAVAILABLE rather than a 500 (docs/architecture.md invariant 4).
 * An answer the server gave (a Redis ReplyError, a Postgres constraint violation, a deadlock)
 * is not an outage.
 */
export function isDependencyDown(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (REDIS_ABORT_ERROR.isPrototypeOf(error)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    return UNREACHABLE_CODES.has(code) || code.startsWith(PG_CONNECTION_EXCEPTION_CLASS) || PG_SERVER_UNAVAILABLE.has(code);
  }
  return Object.getPrototypeOf(error) === Error.prototype && code === undefined && UNCODED_CONNECTION_FAILURES.has(error.message);
}

/** Maps anything thrown to the one JSON error shape. Internal messages never leave. */
export function toErrorResponse(error: unknown, requestId: string): { status: number; body: ErrorBody; logLevel: 'info' | 'warn' | 'error' } {
  if (error instanceof HttpError) {
    return {
      status: error.status,
      body: { error: { code: error.code, message: error.message, requestId, ...error.extra } },
      logLevel: 'info',
    };
  }
  if (error instanceof ServerBusyError) {
    return {
      status: 503,
      body: { error: { code: 'SERVER_BUSY', message: 'The server is busy. Try again in a few seconds.', requestId, retryAfter: 2 } },
      logLevel: 'warn',
    };
  }
  if (isDependencyDown(error)) {
    return {
      status: 503,
      body: {
        error: {
          code: 'SERVICE_UNAVAILABLE',
          message: 'A service Argus depends on is not answering. Nothing was changed; try again shortly.',
          requestId,
        },
      },
      logLevel: 'error',
    };
  }
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'Something went wrong on our side. The error was logged.', requestId } },
    logLevel: 'error',
  };
}
