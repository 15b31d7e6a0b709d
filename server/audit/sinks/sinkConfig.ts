/**
 * The SIEM sinks an operator configures through the environment (docs/deploy.md "Streaming
 * the audit log to a SIEM"): their variables, as a zod shape that server/config.ts spreads
 * into its schema, and the checks across variables and files, made once at start-up.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { SYSLOG_FACILITIES, type SyslogFacility } from './syslog.ts';
import type { SinkFormat } from './types.ts';

export interface SyslogSinkConfig {
  kind: 'syslog';
  host: string;
  port: number;
  /** PEM text read from the files at start-up; null: Node's public CA list, no client certificate. */
  ca: string | null;
  cert: string | null;
  key: string | null;
  /** The name the receiver's certificate must carry when it is not `host`. */
  serverName: string | null;
  facility: SyslogFacility;
  format: SinkFormat;
}

export const HTTP_SINK_ENVELOPES = ['ndjson', 'json', 'splunk-hec'] as const;
export type HttpSinkEnvelope = (typeof HTTP_SINK_ENVELOPES)[number];

export interface HttpSinkConfig {
  kind: 'http';
  url: string;
  /** Sent as `Authorization: <authScheme> <token>`; never logged or shown. */
  token: string;
  /** `Splunk` for a Splunk HTTP Event Collector, else `Bearer`. */
  authScheme: 'Bearer' | 'Splunk';
  /** One batch per POST: NDJSON lines, a JSON array, or Splunk HEC event objects. */
  envelope: HttpSinkEnvelope;
  /** Each event as Argus's own JSON (the export's jsonl) or as OCSF. */
  recordFormat: Extract<SinkFormat, 'jsonl' | 'ocsf'>;
}

export interface CheckpointFileSinkConfig {
  kind: 'checkpoint-file';
  /** Absolute path of the append-only file of checkpoint lines. */
  path: string;
}

export type AuditSinkConfig = SyslogSinkConfig | HttpSinkConfig | CheckpointFileSinkConfig;

/** tls://host:port, the host a name, an IPv4 address or a bracketed IPv6 address. */
const SYSLOG_URL = /^tls:\/\/(\[[0-9a-fA-F:.]+\]|[\w.-]+):(\d{1,5})\/?$/;

/** Header-safe: printable ASCII without spaces, so it can be neither split nor smuggled into another header. */
const HTTP_TOKEN = /^[\x21-\x7e]{16,4096}$/;
const HTTP_TOKEN_RULE = '16 to 4096 printable ASCII characters without spaces';

/** The sinks' variables, spread into server/config.ts's schema (they are listed in docs/deploy.md). */
export const AUDIT_SINK_ENV = {
  AUDIT_SINK_SYSLOG_URL: z.string().regex(SYSLOG_URL, 'must be tls://host:port (syslog over TLS, RFC 5425)').optional(),
  AUDIT_SINK_SYSLOG_CA_FILE: z.string().min(1).optional(),
  AUDIT_SINK_SYSLOG_CERT_FILE: z.string().min(1).optional(),
  AUDIT_SINK_SYSLOG_KEY_FILE: z.string().min(1).optional(),
  AUDIT_SINK_SYSLOG_SERVER_NAME: z.string().regex(/^[\w.-]{1,253}$/, 'a DNS name').optional(),
  AUDIT_SINK_SYSLOG_FACILITY: z.enum(Object.keys(SYSLOG_FACILITIES) as [SyslogFacility, ...SyslogFacility[]]).default('authpriv'),
  AUDIT_SINK_SYSLOG_FORMAT: z.enum(['jsonl', 'cef', 'ocsf']).default('jsonl'),
  AUDIT_SINK_HTTP_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s):// URL' }).optional(),
  // The message must not quote the value: it is a secret.
  AUDIT_SINK_HTTP_TOKEN: z.string().regex(HTTP_TOKEN, HTTP_TOKEN_RULE).optional(),
  AUDIT_SINK_HTTP_TOKEN_FILE: z.string().min(1).optional(),
  AUDIT_SINK_HTTP_AUTH_SCHEME: z.enum(['Bearer', 'Splunk']).default('Bearer'),
  AUDIT_SINK_HTTP_FORMAT: z.enum(HTTP_SINK_ENVELOPES).default('ndjson'),
  AUDIT_SINK_HTTP_RECORD_FORMAT: z.enum(['jsonl', 'ocsf']).default('jsonl'),
  AUDIT_CHECKPOINT_FILE: z.string().min(1).optional(),
};

export type AuditSinkEnv = z.infer<z.ZodObject<typeof AUDIT_SINK_ENV>>;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The configured sinks, at most one of each kind. `invalid` makes the error start-up stops
 * with; each message names its variable and never quotes a secret.
 */
export function auditSinksFromEnv(e: AuditSinkEnv, invalid: (message: string) => Error): AuditSinkConfig[] {
  const sinks: AuditSinkConfig[] = [];
  const syslogOnly = ['AUDIT_SINK_SYSLOG_CA_FILE', 'AUDIT_SINK_SYSLOG_CERT_FILE', 'AUDIT_SINK_SYSLOG_KEY_FILE', 'AUDIT_SINK_SYSLOG_SERVER_NAME'] as const;
  if (e.AUDIT_SINK_SYSLOG_URL) sinks.push(syslogSink(e, e.AUDIT_SINK_SYSLOG_URL, invalid));
  else {
    const stray = syslogOnly.find((name) => e[name] !== undefined);
    if (stray) throw invalid(`${stray}: set AUDIT_SINK_SYSLOG_URL too (or unset ${stray})`);
  }
  if (e.AUDIT_SINK_HTTP_URL) sinks.push(httpSink(e, e.AUDIT_SINK_HTTP_URL, invalid));
  else if (e.AUDIT_SINK_HTTP_TOKEN || e.AUDIT_SINK_HTTP_TOKEN_FILE) throw invalid('AUDIT_SINK_HTTP_TOKEN: set AUDIT_SINK_HTTP_URL too (or unset the token)');
  if (e.AUDIT_CHECKPOINT_FILE) sinks.push(checkpointFileSink(e.AUDIT_CHECKPOINT_FILE, invalid));
  return sinks;
}

function syslogSink(e: AuditSinkEnv, url: string, invalid: (message: string) => Error): SyslogSinkConfig {
  const [, host = '', portText = ''] = SYSLOG_URL.exec(url)!;
  const port = Number(portText);
  if (port < 1 || port > 65535) throw invalid(`AUDIT_SINK_SYSLOG_URL: port ${port} is not 1-65535`);
  if (Boolean(e.AUDIT_SINK_SYSLOG_CERT_FILE) !== Boolean(e.AUDIT_SINK_SYSLOG_KEY_FILE)) {
    throw invalid('AUDIT_SINK_SYSLOG_CERT_FILE: a client certificate needs its key (AUDIT_SINK_SYSLOG_KEY_FILE), and the key its certificate');
  }
  const pem = (name: 'AUDIT_SINK_SYSLOG_CA_FILE' | 'AUDIT_SINK_SYSLOG_CERT_FILE' | 'AUDIT_SINK_SYSLOG_KEY_FILE') => {
    const file = e[name];
    if (file === undefined) return null;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw invalid(`${name}: cannot read ${file}`);
    }
    if (!text.includes('-----BEGIN ')) throw invalid(`${name}: ${file} holds no PEM block`);
    return text;
  };
  return {
    kind: 'syslog',
    host: host.replace(/^\[(.*)\]$/, '$1'),
    port,
    ca: pem('AUDIT_SINK_SYSLOG_CA_FILE'),
    cert: pem('AUDIT_SINK_SYSLOG_CERT_FILE'),
    key: pem('AUDIT_SINK_SYSLOG_KEY_FILE'),
    serverName: e.AUDIT_SINK_SYSLOG_SERVER_NAME ?? null,
    facility: e.AUDIT_SINK_SYSLOG_FACILITY,
    format: e.AUDIT_SINK_SYSLOG_FORMAT,
  };
}

function httpSink(e: AuditSinkEnv, rawUrl: string, invalid: (message: string) => Error): HttpSinkConfig {
  const url = new URL(rawUrl);
  // Credentials in the URL would travel to wherever the URL is shown or logged.
  if (url.username || url.password) throw invalid('AUDIT_SINK_HTTP_URL: must not hold credentials; put the token in AUDIT_SINK_HTTP_TOKEN_FILE');
  // The token and the audit log cross the network: plain HTTP only to this machine.
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    throw invalid(`AUDIT_SINK_HTTP_URL: must be https:// (plain http:// only to localhost), got http://${url.host}`);
  }
  if (e.AUDIT_SINK_HTTP_TOKEN && e.AUDIT_SINK_HTTP_TOKEN_FILE) throw invalid('AUDIT_SINK_HTTP_TOKEN: set it or AUDIT_SINK_HTTP_TOKEN_FILE, not both');
  let token = e.AUDIT_SINK_HTTP_TOKEN;
  if (e.AUDIT_SINK_HTTP_TOKEN_FILE) {
    try {
      token = readFileSync(e.AUDIT_SINK_HTTP_TOKEN_FILE, 'utf8').trim();
    } catch {
      throw invalid(`AUDIT_SINK_HTTP_TOKEN_FILE: cannot read ${e.AUDIT_SINK_HTTP_TOKEN_FILE}`);
    }
    if (!HTTP_TOKEN.test(token)) throw invalid(`AUDIT_SINK_HTTP_TOKEN_FILE: ${e.AUDIT_SINK_HTTP_TOKEN_FILE} must hold ${HTTP_TOKEN_RULE}`);
  }
  if (token === undefined) throw invalid('AUDIT_SINK_HTTP_TOKEN_FILE: the HTTP sink needs a token (AUDIT_SINK_HTTP_TOKEN_FILE or AUDIT_SINK_HTTP_TOKEN)');
  // A Splunk HEC event endpoint takes the event objects; a JSON array or NDJSON needs /raw.
  if (e.AUDIT_SINK_HTTP_FORMAT === 'splunk-hec' && e.AUDIT_SINK_HTTP_AUTH_SCHEME !== 'Splunk') {
    throw invalid('AUDIT_SINK_HTTP_AUTH_SCHEME: must be Splunk with AUDIT_SINK_HTTP_FORMAT=splunk-hec');
  }
  return {
    kind: 'http',
    url: url.toString(),
    token,
    authScheme: e.AUDIT_SINK_HTTP_AUTH_SCHEME,
    envelope: e.AUDIT_SINK_HTTP_FORMAT,
    recordFormat: e.AUDIT_SINK_HTTP_RECORD_FORMAT,
  };
}

function checkpointFileSink(file: string, invalid: (message: string) => Error): CheckpointFileSinkConfig {
  const resolved = path.resolve(file);
  const directory = path.dirname(resolved);
  try {
    if (!statSync(directory).isDirectory()) throw new Error('not a directory');
    accessSync(directory, constants.W_OK);
  } catch {
    throw invalid(`AUDIT_CHECKPOINT_FILE: ${directory} must be an existing directory this process can write to`);
  }
  let existing: ReturnType<typeof statSync> | undefined;
  try {
    existing = statSync(resolved);
  } catch {
    existing = undefined;
  }
  if (existing && !existing.isFile()) throw invalid(`AUDIT_CHECKPOINT_FILE: ${resolved} exists and is not a regular file`);
  return { kind: 'checkpoint-file', path: resolved };
}

/** Where a sink sends its records, as the status shows it: never a path, query or token of a URL. */
export function sinkTarget(sink: AuditSinkConfig): string {
  switch (sink.kind) {
    case 'syslog':
      return `${isIP(sink.host) === 6 ? `[${sink.host}]` : sink.host}:${sink.port}`;
    case 'http':
      return new URL(sink.url).host;
    case 'checkpoint-file':
      return sink.path;
  }
}

/** The format as the status shows it. */
export function sinkFormatLabel(sink: AuditSinkConfig): string {
  switch (sink.kind) {
    case 'syslog':
      return sink.format;
    case 'http':
      return `${sink.envelope} (${sink.recordFormat})`;
    case 'checkpoint-file':
      return 'jsonl';
  }
}
