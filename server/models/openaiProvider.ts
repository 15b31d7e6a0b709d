import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { urlToHttpOptions } from 'node:url';
import type { ModelRow } from '../db/models.ts';
import { ProviderError, type Completion, type CompletionRequest } from './completion.ts';
import { ModelHostForbiddenError } from './modelHosts.ts';
import { OpenAIStreamReader, type ReadOutcome } from './openaiStreamReader.ts';

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Where a model's completions go, parsed once per base URL rather than once per request. */
interface Endpoint {
  send: typeof httpRequest;
  protocol: string;
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
      protocol: url.protocol,
      options: urlToHttpOptions(url),
    };
    if (endpoints.size >= MAX_ENDPOINTS) endpoints.delete(endpoints.keys().next().value!);
    endpoints.set(baseUrl, endpoint);
  }
  return endpoint;
}

/**
 * An OpenAI-compatible chat completions call with `stream: true` (OpenAI, Ollama, vLLM,
 * llama.cpp server, LiteLLM…), read as Server-Sent Events. Each read's text goes to `onText`
 * straight from the socket's 'data' event: no async iterator, generator or await per token,
 * which is most of a gateway's work per token once the socket itself is paid for. The
 * caller's abort reaches the upstream (the connection is closed); a silent upstream times
 * out; a non-200 answer, a malformed chunk or a connection dropped mid-answer become
 * ProviderErrors, after the text that came before them has been handed over.
 * Uses node:http(s) on the keep-alive agents of `hosts`, which refuse addresses inside Argus's
 * network as each connection is made (threat model G8); a connection that ends cleanly goes
 * back to the pool. Redirects are never followed: one is a MODEL_REDIRECT_REFUSED.
 */
export function streamOpenAI(model: ModelRow, { messages, maxTokens, signal, timeoutMs, hosts, onText }: CompletionRequest): Promise<Completion> {
  if (!model.base_url) return Promise.reject(new ProviderError('MODEL_ERROR', `The model "${model.display_name}" has no server address configured.`));
  const apiKey = model.api_key_env ? process.env[model.api_key_env] : undefined;
  if (model.api_key_env && !apiKey) return Promise.reject(new ProviderError('MODEL_ERROR', `The API key for "${model.display_name}" is not configured on the server.`));
  if (signal.aborted) return Promise.resolve({ finishReason: 'stop', usage: null });

  return new Promise<Completion>((resolve, reject) => {
    const endpoint = endpointOf(model.base_url!);
    const body = JSON.stringify({ model: model.upstream_model, messages, stream: true, max_tokens: maxTokens, stream_options: { include_usage: true } });
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream', 'content-length': String(Buffer.byteLength(body)) };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    let response: IncomingMessage | null = null;
    /** Reads the answer once it comes (status 200). */
    let reader: OpenAIStreamReader | null = null;
    let settled = false;

    // An abort or a timeout ends the answer at once, whatever the socket does next, and destroys
    // the request: its connection closes, which is how the model server learns of it.
    const request = endpoint.send({ ...endpoint.options, agent: hosts.agentFor(endpoint.protocol), method: 'POST', headers }, onResponse);
    const onAbort = () => {
      settle({ finishReason: 'stop', usage: reader?.usage ?? null });
      request.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    // The timeout counts from the last read. A read only notes its time (moving a timer on every
    // token costs more); when the timer fires early for that reason it is set again for the rest.
    let lastRead = Date.now();
    const onSilence = () => {
      const silentMs = Date.now() - lastRead;
      if (silentMs < timeoutMs) {
        timer = setTimeout(onSilence, timeoutMs - silentMs);
        return;
      }
      settle(new ProviderError('MODEL_TIMEOUT', `The model server did not answer within ${Math.round(timeoutMs / 1000)} s.`));
      request.destroy();
    };
    let timer = setTimeout(onSilence, timeoutMs);

    /** Every way out goes through here once: no timer left running, no listener left on the caller's signal. */
    const settle = (outcome: Completion | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    /** The connection failed or closed early (after an abort or a timeout, this changes nothing). */
    const broken = (error: unknown) => {
      // The detail (the address, its range) is for the server's log, through `cause`: never for the browser.
      if (error instanceof ModelHostForbiddenError) {
        return settle(new ProviderError('MODEL_HOST_FORBIDDEN', "The model server's address is inside the network Argus runs in, and MODEL_HOST_ALLOWLIST does not allow it.", { cause: error }));
      }
      const code = errorCode(error);
      if (!response && code && UNREACHABLE_CODES.has(code)) return settle(new ProviderError('MODEL_UNREACHABLE', 'The model server cannot be reached.', { cause: error }));
      if (response) return settle(new ProviderError('MODEL_ERROR', 'The model server closed the connection in the middle of the answer.', { cause: error }));
      settle(new ProviderError('MODEL_ERROR', 'The connection to the model server failed.', { cause: error }));
    };
    request.on('error', broken);
    request.end(body);

    function onResponse(answer: IncomingMessage) {
      response = answer;
      const status = answer.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        answer.resume();
        // A redirect could lead anywhere, inside too; its Location is not followed, nor repeated.
        settle(new ProviderError('MODEL_REDIRECT_REFUSED', `The model server answered with a redirect (HTTP ${status}), which Argus does not follow: give its final address as the base URL.`));
        return;
      }
      if (status !== 200) {
        answer.resume(); // drain, so the connection can be reused
        // The upstream's body may hold anything (even secrets echoed back): never pass it on.
        settle(new ProviderError('MODEL_ERROR', `The model server answered with an error (HTTP ${answer.statusCode}).`));
        return;
      }
      // UTF-8 decoded across reads: a character split between two reads arrives whole in the second.
      answer.setEncoding('utf8');
      const answerReader = new OpenAIStreamReader(onText);
      reader = answerReader;
      answer.on('data', (read: string) => {
        if (settled) return;
        lastRead = Date.now(); // the timeout counts from the last read
        let outcome: ReadOutcome;
        try {
          outcome = answerReader.take(read);
        } catch (error) {
          // The caller's onText threw: that is a failure of ours, not the model server's.
          settle(error as Error);
          answer.destroy();
          return;
        }
        if (outcome === 'reading') return;
        // After [DONE] the rest of the body drains, so the connection goes back to the pool.
        if (outcome === 'done') return settle({ finishReason: answerReader.finishReason ?? 'stop', usage: answerReader.usage });
        const tooLong = outcome === 'line_too_long' ? ' (a line longer than 1 MiB)' : '';
        settle(new ProviderError('MODEL_BAD_RESPONSE', `The model server sent a response Argus could not read${tooLong}.`));
        answer.destroy();
      });
      answer.on('end', () => {
        if (answerReader.finishReason) settle({ finishReason: answerReader.finishReason, usage: answerReader.usage });
        else settle(new ProviderError('MODEL_ERROR', 'The model server closed the connection in the middle of the answer.'));
      });
      answer.on('error', broken);
    }
  });
}
