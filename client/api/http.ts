/**
 * The one way the SPA talks to the API: same-origin fetch, JSON both ways, and every
 * failure turned into an ApiError. HTTP status is mapped to errors here and nowhere else.
 */
import type { ConversationView } from '../../shared/api.ts';
import { isErrorBody, type ErrorCode, type FieldIssue } from '../../shared/errors.ts';

interface ApiErrorInit {
  code: ErrorCode;
  status: number;
  message: string;
  issues?: FieldIssue[];
  retryAfter?: number;
  requestId?: string;
  conversation?: ConversationView;
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
  /** GRANT_REQUIRED on a conversation's read: its locked metadata (no title, no messages). */
  readonly conversation: ConversationView | undefined;

  constructor(init: ApiErrorInit) {
    super(init.message, { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    this.issues = init.issues ?? [];
    this.retryAfter = init.retryAfter;
    this.requestId = init.requestId;
    this.conversation = init.conversation;
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
    const { code, message, issues, retryAfter, requestId, conversation } = body.error;
    return new ApiError({
      code,
      message,
      status: response.status,
      issues,
      retryAfter: retryAfter ?? retryAfterHeader,
      requestId,
      conversation,
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

/** Tells every `onSessionLost` listener the session is gone; for news that came another way (the WebSocket). */
export function reportSessionLost(error: ApiError): void {
  for (const listener of sessionLostListeners) listener(error);
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface RequestOptions {
  body?: unknown;
  /** The session probe asks whether there is a session, so a 401 there is an answer, not a loss. */
  sessionProbe?: boolean;
  /** Aborts the request; the promise then rejects with the signal's reason, not an ApiError. */
  signal?: AbortSignal;
  /** What to ask for; JSON unless said otherwise. */
  accept?: string;
  /** 'no-store': the answer holds what must not stay in the browser's HTTP cache (restricted conversations). */
  cache?: RequestCache;
}

/** The fetch under `request` and `openStream`: an ok Response, or an ApiError. */
async function send(method: Method, path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' };
  const init: RequestInit = { method, credentials: 'same-origin', headers };
  if (options.signal) init.signal = options.signal;
  if (options.cache) init.cache = options.cache;
  // Every write carries a JSON body: the server accepts writes only as application/json.
  if (method !== 'GET' && !(method === 'DELETE' && options.body === undefined)) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body ?? {});
  }

  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (cause) {
    // Stopped on purpose: the caller asked for it and knows why.
    if (options.signal?.aborted) throw cause;
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
    if (sessionLost && !options.sessionProbe) reportSessionLost(error);
    throw error;
  }
  return response;
}

export async function request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(method, path, options);
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

/**
 * POSTs `body` and hands back the body of a `text/event-stream` answer to read as it
 * arrives. Refusals before the stream starts are ordinary JSON errors, thrown as ApiError.
 */
export async function openStream(
  path: string,
  body: unknown,
  signal: AbortSignal,
): Promise<ReadableStream<Uint8Array>> {
  const response = await send('POST', path, { body, signal, accept: 'text/event-stream' });
  const type = response.headers.get('Content-Type') ?? '';
  if (!response.body || !type.startsWith('text/event-stream')) {
    throw new ApiError({
      code: 'INTERNAL',
      status: response.status,
      message: 'The server sent an answer that could not be read.',
    });
  }
  return response.body;
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
