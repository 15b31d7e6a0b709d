import type { ErrorBody, ErrorCode, FieldIssue } from '../../shared/errors.ts';
import { ServerBusyError } from '../auth/hashLimiter.ts';

/** An error a route means to answer with: a status, a stable code and a human message. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly extra: { issues?: FieldIssue[]; retryAfter?: number } = {},
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

const DEPENDENCY_DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);
const DEPENDENCY_DOWN_MESSAGES = [
  "Stream isn't writeable",
  'Connection is closed',
  'Command timed out',
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Client has encountered a connection error',
];

/**
 * True when Postgres or Redis could not answer. Those requests fail closed with 503
 * SERVICE_UNAVAILABLE rather than a 500 (DESIGN.md invariant 4).
 */
export function isDependencyDown(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (DEPENDENCY_DOWN_CODES.has(code)) return true;
    // Postgres class 08: connection exception; 57P01-57P03: server shutting down or starting.
    if (/^08|^57P0[123]$/.test(code)) return true;
  }
  if (error.name === 'MaxRetriesPerRequestError') return true;
  return DEPENDENCY_DOWN_MESSAGES.some((m) => error.message.includes(m));
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
