/**
 * The one way the SPA talks to the API: same-origin fetch, JSON both ways, and every
 * failure turned into an ApiError. HTTP status is mapped to errors here and nowhere else.
 */
import { isErrorBody, type ErrorCode, type FieldIssue } from '../../shared/errors.ts';

interface ApiErrorInit {
  code: ErrorCode;
  status: number;
  message: string;
  issues?: FieldIssue[];
  retryAfter?: number;
  requestId?: string;
  cause?: unknown;
}

/** A failed API call, as the server explained it (or as we could tell it failed). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: ErrorCode;
  /** HTTP status; 0 when the server could not be reached at all. */
  readonly status: number;
  readonly issues: FieldIssue[];
  /** Seconds until a rate-limited request may be retried. */
  readonly retryAfter: number | undefined;
  /** Quote this to an operator: it finds the request in the server's log. */
  readonly requestId: string | undefined;

  constructor(init: ApiErrorInit) {
    super(init.message, { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    this.issues = init.issues ?? [];
    this.retryAfter = init.retryAfter;
    this.requestId = init.requestId;
  }
}

const UNAVAILABLE: [ErrorCode, string] = [
  'SERVICE_UNAVAILABLE',
  'Argus is unavailable right now. Try again in a moment.',
];

/** What a status means when the answer did not carry Argus's error shape (a proxy's page, say). */
const STATUS_ERRORS: Partial<Record<number, [ErrorCode, string]>> = {
  400: ['VALIDATION_FAILED', 'The request was not accepted.'],
  401: ['UNAUTHENTICATED', 'Please sign in.'],
  403: ['FORBIDDEN', 'You do not have access to this.'],
  404: ['NOT_FOUND', 'Not found.'],
  409: ['CONFLICT', 'That conflicts with a recent change. Reload and try again.'],
  413: ['PAYLOAD_TOO_LARGE', 'That is too large to send.'],
  415: ['UNSUPPORTED_MEDIA_TYPE', 'The request was not accepted.'],
  429: ['RATE_LIMITED', 'Too many attempts. Try again later.'],
  502: UNAVAILABLE,
  503: UNAVAILABLE,
  504: UNAVAILABLE,
};

function statusError(status: number): [ErrorCode, string] {
  return STATUS_ERRORS[status] ?? ['INTERNAL', `Unexpected answer from the server (HTTP ${status}).`];
}

async function errorFrom(response: Response): Promise<ApiError> {
  const body: unknown = await response.json().catch(() => undefined);
  const retryAfterHeader = Number(response.headers.get('Retry-After')) || undefined;
  if (isErrorBody(body)) {
    const { code, message, issues, retryAfter, requestId } = body.error;
    return new ApiError({
      code,
      message,
      status: response.status,
      issues,
      retryAfter: retryAfter ?? retryAfterHeader,
      requestId,
    });
  }
  const [code, message] = statusError(response.status);
  return new ApiError({ code, message, status: response.status, retryAfter: retryAfterHeader });
}

type SessionLostListener = (error: ApiError) => void;
const sessionLostListeners = new Set<SessionLostListener>();

/**
 * Calls `listener` whenever the server answers that there is no session (it expired, was
 * ended elsewhere, or the account was disabled). Returns the function that unsubscribes.
 */
export function onSessionLost(listener: SessionLostListener): () => void {
  sessionLostListeners.add(listener);
  return () => sessionLostListeners.delete(listener);
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface RequestOptions {
  body?: unknown;
  /** The session probe asks whether there is a session, so a 401 there is an answer, not a loss. */
  sessionProbe?: boolean;
}

export async function request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = { method, credentials: 'same-origin', headers };
  // Every write carries a JSON body: the server accepts writes only as application/json.
  if (method !== 'GET' && !(method === 'DELETE' && options.body === undefined)) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body ?? {});
  }

  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (cause) {
    throw new ApiError({
      code: 'SERVICE_UNAVAILABLE',
      status: 0,
      message: 'Cannot reach Argus. Check your connection and try again.',
      cause,
    });
  }

  if (!response.ok) {
    const error = await errorFrom(response);
    const sessionLost =
      error.status === 401 && (error.code === 'SESSION_ENDED' || error.code === 'UNAUTHENTICATED');
    if (sessionLost && !options.sessionProbe) {
      for (const listener of sessionLostListeners) listener(error);
    }
    throw error;
  }
  if (response.status === 204) return undefined as T;
  try {
    return (await response.json()) as T;
  } catch (cause) {
    throw new ApiError({
      code: 'INTERNAL',
      status: response.status,
      message: 'The server sent an answer that could not be read.',
      cause,
    });
  }
}

/** `path` with `params` as its query string; empty and missing values are left out. */
export function withQuery(path: string, params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== '' && value !== null && value !== undefined) search.set(name, String(value));
  }
  const query = search.toString();
  return query ? `${path}?${query}` : path;
}
