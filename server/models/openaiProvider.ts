import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { urlToHttpOptions } from 'node:url';
import type { ModelRow } from '../db/models.ts';
import { ProviderError, type Completion, type CompletionRequest, type TokenStream, type Usage } from './providers.ts';

interface ChunkJSON {
  choices?: Array<{ delta?: { content?: unknown }; finish_reason?: unknown }>;
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Where a model's completions go, parsed once per base URL rather than once per request. */
interface Endpoint {
  send: typeof httpRequest;
  options: RequestOptions;
}

const endpoints = new Map<string, Endpoint>();
const MAX_ENDPOINTS = 256;

function endpointOf(baseUrl: string): Endpoint {
  let endpoint = endpoints.get(baseUrl);
  if (!endpoint) {
    const url = new URL('chat/completions', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    endpoint = {
      send: url.protocol === 'https:' ? httpsRequest : httpRequest,
      options: urlToHttpOptions(url),
    };
    if (endpoints.size >= MAX_ENDPOINTS) endpoints.delete(endpoints.keys().next().value!);
    endpoints.set(baseUrl, endpoint);
  }
  return endpoint;
}

/**
 * POSTs with node:http(s) on the global keep-alive agents: far less work per request and per
 * chunk than fetch's web streams, and a connection that ends cleanly goes back to the pool.
 * The caller aborts by destroying the returned request (cheaper than an AbortSignal option);
 * `request` is null when it could not even be made (the error is then the promise's).
 */
function post(endpoint: Endpoint, headers: Record<string, string>, body: string): { request: ClientRequest | null; response: Promise<IncomingMessage> } {
  let request: ClientRequest | null = null;
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    request = endpoint.send({ ...endpoint.options, method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, resolve);
    request.on('error', reject);
    request.end(body);
  });
  return { request, response };
}

/**
 * An OpenAI-compatible chat completions call with `stream: true` (OpenAI, Ollama, vLLM,
 * llama.cpp server, LiteLLM…), read as Server-Sent Events. The caller's abort reaches the
 * upstream (the connection is closed); a silent upstream times out; a non-200 answer, a
 * malformed chunk or a connection dropped mid-answer become ProviderErrors.
 */
export async function* streamOpenAI(model: ModelRow, { messages, maxTokens, signal, timeoutMs }: CompletionRequest): TokenStream {
  if (!model.base_url) throw new ProviderError('MODEL_ERROR', `The model "${model.display_name}" has no server address configured.`);
  const apiKey = model.api_key_env ? process.env[model.api_key_env] : undefined;
  if (model.api_key_env && !apiKey) throw new ProviderError('MODEL_ERROR', `The API key for "${model.display_name}" is not configured on the server.`);

  if (signal.aborted) return { finishReason: 'stop', usage: null };
  const { request, response: answered } = post(
    endpointOf(model.base_url),
    { 'content-type': 'application/json', accept: 'text/event-stream', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    JSON.stringify({ model: model.upstream_model, messages, stream: true, max_tokens: maxTokens, stream_options: { include_usage: true } }),
  );
  // An abort or a timeout destroys the request: its connection closes, which is how the model server learns of it.
  let timedOut: ProviderError | null = null;
  const onAbort = () => request?.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | null = null;
  // Re-armed on every read: refresh() restarts the same timer instead of making a new one.
  const arm = () => {
    if (timer) {
      timer.refresh();
      return;
    }
    timer = setTimeout(() => {
      timedOut = new ProviderError('MODEL_TIMEOUT', `The model server did not answer within ${Math.round(timeoutMs / 1000)} s.`);
      request?.destroy();
    }, timeoutMs);
  };
  /** Every way out: no timer left running, no listener left on the caller's signal. */
  const stopWatching = () => {
    if (timer) clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  };
  const failure = (error: unknown, phase: 'connect' | 'read'): ProviderError => {
    if (timedOut) return timedOut;
    if (error instanceof ProviderError) return error;
    const code = errorCode(error);
    if (phase === 'connect' && code && UNREACHABLE_CODES.has(code)) return new ProviderError('MODEL_UNREACHABLE', 'The model server cannot be reached.', { cause: error });
    if (phase === 'read') return new ProviderError('MODEL_ERROR', 'The model server closed the connection in the middle of the answer.', { cause: error });
    return new ProviderError('MODEL_ERROR', 'The connection to the model server failed.', { cause: error });
  };

  arm();
  let response: IncomingMessage;
  try {
    response = await answered;
  } catch (error) {
    stopWatching();
    if (signal.aborted) return { finishReason: 'stop', usage: null };
    throw failure(error, 'connect');
  }
  if (response.statusCode !== 200) {
    stopWatching();
    response.resume(); // drain, so the connection can be reused
    // The upstream's body may hold anything (even secrets echoed back): never pass it on.
    throw new ProviderError('MODEL_ERROR', `The model server answered with an error (HTTP ${response.statusCode}).`);
  }

  response.setEncoding('utf8');
  const reader = response[Symbol.asyncIterator]() as AsyncIterator<string>;
  let buffer = '';
  let ended = false;
  let finishReason: Completion['finishReason'] | null = null;
  let usage: Usage | null = null;
  try {
    for (;;) {
      arm();
      let read: IteratorResult<string>;
      try {
        read = await reader.next();
      } catch (error) {
        if (signal.aborted) return { finishReason: 'stop', usage };
        throw failure(error, 'read');
      }
      if (read.done) {
        ended = true;
        break;
      }
      buffer += read.value;
      // Everything that arrived in one read goes on as one piece: fewer events, same text.
      let arrived = '';
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, '');
        buffer = buffer.slice(newline + 1);
        if (!line.startsWith('data:')) continue; // comments, event names, blank separators
        const data = line.slice(5).trim();
        if (data === '[DONE]') {
          ended = true;
          if (arrived) yield arrived;
          return { finishReason: finishReason ?? 'stop', usage };
        }
        let chunk: ChunkJSON;
        try {
          chunk = JSON.parse(data) as ChunkJSON;
        } catch (error) {
          if (arrived) yield arrived; // keep what came before the bad chunk
          throw new ProviderError('MODEL_BAD_RESPONSE', 'The model server sent a response Argus could not read.', { cause: error });
        }
        const choice = chunk.choices?.[0];
        const content = choice?.delta?.content;
        if (typeof content === 'string') arrived += content;
        if (choice?.finish_reason === 'length') finishReason = 'length';
        else if (typeof choice?.finish_reason === 'string') finishReason = 'stop';
        if (chunk.usage && typeof chunk.usage.prompt_tokens === 'number' && typeof chunk.usage.completion_tokens === 'number') {
          usage = { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens };
        }
      }
      if (arrived) yield arrived;
    }
    if (signal.aborted) return { finishReason: 'stop', usage };
    if (finishReason) return { finishReason, usage };
    throw new ProviderError('MODEL_ERROR', 'The model server closed the connection in the middle of the answer.');
  } finally {
    stopWatching();
    // A finished answer drains so its connection is reused; anything else closes the
    // connection, which is how an abort reaches the model server.
    if (ended) response.resume();
    else response.destroy();
  }
}
