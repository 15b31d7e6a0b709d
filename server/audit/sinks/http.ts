/**
 * The HTTP sink's transport: each batch in one POST to a SIEM's collector or a webhook, with
 * `Authorization: Bearer <token>` (or `Splunk <token>` for a Splunk HEC).
 *
 * - ndjson: one record per line, `application/x-ndjson` (Splunk HEC /services/collector/raw,
 *   Elastic, Vector, Fluent Bit, most webhooks);
 * - json: the batch as one JSON array, `application/json`;
 * - splunk-hec: one `{"time":…,"sourcetype":"argus:audit","event":…}` object per record, the
 *   body of a Splunk HEC /services/collector/event request.
 *
 * A 2xx answer means delivered. Anything else, a timeout or a broken connection rejects the
 * whole batch, which is sent again later (at-least-once). Redirects are never followed: the
 * token would go to wherever the redirect points.
 */
import http from 'node:http';
import https from 'node:https';
import type { HttpSinkEnvelope } from './sinkConfig.ts';
import type { SinkRecord, SinkTransport } from './types.ts';

export interface HttpTransportOptions {
  url: string;
  token: string;
  authScheme?: 'Bearer' | 'Splunk';
  envelope?: HttpSinkEnvelope;
  /** The whole request, from connecting to the end of the answer. */
  timeoutMs?: number;
}

/** A failed delivery, with a message safe to log and show: a status, an error code, never the token. */
export class HttpSinkError extends Error {
  override name = 'HttpSinkError';
}

const CONTENT_TYPES: Record<HttpSinkEnvelope, string> = {
  ndjson: 'application/x-ndjson',
  json: 'application/json',
  'splunk-hec': 'application/json',
};

/** How much of a refusal's body is kept for the error message (Splunk says why in it). */
const ERROR_BODY_CHARS = 200;
/** How much of it is read: enough to redact a token that starts within the part kept. */
const ERROR_BODY_READ_CHARS = 8_192;

/** The request body of one batch. Every record's body is one line of JSON. */
export function httpSinkBody(records: readonly SinkRecord[], envelope: HttpSinkEnvelope): string {
  switch (envelope) {
    case 'ndjson':
      return records.length === 0 ? '' : `${records.map((record) => record.body).join('\n')}\n`;
    case 'json':
      return `[${records.map((record) => record.body).join(',')}]`;
    case 'splunk-hec':
      // HEC takes the time in epoch seconds; the event is the record's JSON as it is.
      return records.map((record) => `{"time":${Date.parse(record.time) / 1000},"sourcetype":"argus:audit","event":${record.body}}\n`).join('');
  }
}

export function createHttpTransport({ url, token, authScheme = 'Bearer', envelope = 'ndjson', timeoutMs = 10_000 }: HttpTransportOptions): SinkTransport {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  // One connection kept open between batches; one request at a time (the engine sends one batch at a time).
  const agent = new client.Agent({ keepAlive: true, maxSockets: 1 });
  const authorization = `${authScheme} ${token}`;
  /** Never let the token into a message, whatever the receiver echoes back. */
  const redact = (text: string) => text.replaceAll(token, '[redacted]');
  let closed = false;

  /** Resolves `stale` instead when a kept-alive connection turned out closed by the collector before it read anything. */
  function post(body: Buffer): Promise<void | 'stale'> {
    return new Promise((resolve, reject) => {
      const fail = (message: string) => {
        clearTimeout(timer);
        request.destroy();
        // Redacted before it is cut short, so no part of the token survives the cut.
        reject(new HttpSinkError(redact(message).slice(0, ERROR_BODY_CHARS + 40)));
      };
      const request = client.request(target, {
        method: 'POST',
        agent,
        headers: {
          authorization,
          'content-type': CONTENT_TYPES[envelope],
          'content-length': body.length,
          'user-agent': 'Argus audit sink',
        },
      });
      const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
      let answered = false;
      request.on('error', (error: NodeJS.ErrnoException) => {
        // A collector may close an idle kept-alive connection just as a batch goes out on it (Node's advice: retry such a request once).
        if (request.reusedSocket && !answered && error.code === 'ECONNRESET') {
          clearTimeout(timer);
          resolve('stale');
          return;
        }
        fail(`request failed: ${error.code ?? error.message}`);
      });
      request.on('response', (response) => {
        answered = true;
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          // Read the answer to its end so the connection can carry the next batch.
          response.resume();
          response.on('end', () => {
            clearTimeout(timer);
            resolve();
          });
          response.on('error', (error: NodeJS.ErrnoException) => fail(`answer cut short: ${error.code ?? error.message}`));
          return;
        }
        if (status >= 300 && status < 400) {
          // Not followed: the token must reach only the configured URL.
          response.resume();
          fail(`HTTP ${status}: redirect not followed (set AUDIT_SINK_HTTP_URL to the final URL)`);
          return;
        }
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (text.length < ERROR_BODY_READ_CHARS) text += chunk;
        });
        response.on('end', () => fail(`HTTP ${status}${text ? `: ${printable(text)}` : ''}`));
        response.on('error', () => fail(`HTTP ${status}`));
      });
      request.end(body);
    });
  }

  return {
    async deliver(records) {
      if (closed) throw new HttpSinkError('transport closed');
      if (records.length === 0) return;
      const body = Buffer.from(httpSinkBody(records, envelope), 'utf8');
      // Once more on a new connection; the batch may then arrive twice, as at-least-once allows.
      if ((await post(body)) === 'stale' && (await post(body)) === 'stale') throw new HttpSinkError('request failed: ECONNRESET');
    },
    async close() {
      closed = true;
      agent.destroy();
    },
  };
}

/** A receiver's text on one line: control characters (line breaks included) as spaces. */
function printable(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').trim();
}
