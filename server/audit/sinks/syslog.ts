/**
 * The syslog sink's transport: every record as one RFC 5424 message, sent over TLS
 * (RFC 5425) with octet-counted framing, to a receiver such as rsyslog, syslog-ng or a SIEM.
 *
 * What TCP can acknowledge. `deliver` resolves once the whole batch has been handed to the
 * kernel (the last write's callback) and the connection reported no error while it was
 * written. That is all RFC 5425 offers: syslog over TLS has no application-level
 * acknowledgement, so records still in the kernel's or the receiver's buffers when the
 * receiver crashes, or when a connection that died silently is noticed only at the next
 * write, can be lost without `deliver` knowing. RELP (rsyslog's omrelp/imrelp) acknowledges
 * each message and would close that gap; until then the syslog sink is at-least-once for
 * every failure the socket reports, and the file sink (or the checkpoints' own seq) shows
 * any gap. A receiver drops duplicates from retried batches by the `seq` in the structured
 * data.
 */
import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Severity } from '../../../shared/audit.ts';
import type { SinkRecord, SinkTransport } from './types.ts';

/**
 * RFC 5424 §6.2.1 facility codes a deployment may route audit records under. The default is
 * `authpriv` (10): "security/authorization messages" that distributions keep out of the
 * world-readable general log (Debian's rsyslog.conf sends `authpriv.*` only to auth.log),
 * which suits records that name accounts and addresses.
 */
export const SYSLOG_FACILITIES = {
  auth: 4,
  authpriv: 10,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const;
export type SyslogFacility = keyof typeof SYSLOG_FACILITIES;

/** Argus severities as RFC 5424 §6.2.1 severities (2 critical … 6 informational). */
export const SYSLOG_SEVERITY: Record<Severity, number> = {
  critical: 2,
  high: 3,
  medium: 4,
  low: 5,
  info: 6,
};

/**
 * The SD-ID of the structured data Argus adds. 32473 is the IANA private enterprise number
 * reserved for documentation (RFC 5612); receivers match on the whole `argus@32473`.
 */
export const ARGUS_SD_ID = 'argus@32473';

/** One SD-ELEMENT: `[id name="value" …]`. */
export interface SyslogStructuredElement {
  id: string;
  params: ReadonlyArray<readonly [name: string, value: string]>;
}

/** The fields of one RFC 5424 SYSLOG-MSG; `null` header fields are sent as the NILVALUE `-`. */
export interface SyslogMessage {
  /** 0..23 (RFC 5424 §6.2.1). */
  facility: number;
  /** 0..7 (RFC 5424 §6.2.1). */
  severity: number;
  /** An RFC 5424 TIMESTAMP (RFC 3339 with upper-case T and Z, at most 6 fraction digits). */
  timestamp: string | null;
  hostname: string | null;
  appName: string | null;
  procId: string | null;
  msgId: string | null;
  structuredData: readonly SyslogStructuredElement[];
  /** The MSG part, sent as UTF-8 without a BOM (see formatSyslogMessage). */
  msg?: string;
}

const NILVALUE = '-';
// RFC 5424 §6: TIMESTAMP = FULL-DATE "T" FULL-TIME, TIME-SECFRAC = "." 1*6DIGIT, TIME-OFFSET = "Z" / ("+" / "-") hh:mm.
const TIMESTAMP = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
// RFC 5424 §6: SD-NAME = 1*32PRINTUSASCII except '=', SP, ']', %d34 (").
const SD_NAME = /^[\x21\x23-\x3c\x3e-\x5c\x5e-\x7e]{1,32}$/;
// RFC 5424 §6: header fields are PRINTUSASCII (%d33-126), with these maximum lengths.
const HEADER_MAX = { hostname: 255, appName: 48, procId: 128, msgId: 32 } as const;

/**
 * A value reduced to what an RFC 5424 header field may hold: printable US-ASCII only
 * (anything else dropped), at most `maxLength` characters; null when nothing is left.
 */
export function toPrintUsAscii(value: string, maxLength: number): string | null {
  const printable = value.replace(/[^\x21-\x7e]/g, '').slice(0, maxLength);
  return printable === '' ? null : printable;
}

/** RFC 5424 §6.3.3: inside PARAM-VALUE, '"', '\' and ']' MUST be escaped with a backslash. */
export function escapeParamValue(value: string): string {
  return value.replace(/["\\\]]/g, (character) => `\\${character}`);
}

/**
 * One SYSLOG-MSG (RFC 5424 §6) as a string, without framing. MSG goes as MSG-ANY: UTF-8
 * with no BOM. §6.4 asks for a BOM before UTF-8, but receivers keep it as part of the
 * message (rsyslog does), where it would break the body for every consumer that expects
 * `CEF:0|` or `{` at the start; rsyslog and the SIEMs we target read the UTF-8 as it is.
 * Throws a RangeError for a field the grammar does not allow, rather than send a message a
 * receiver would misparse.
 */
export function formatSyslogMessage(message: SyslogMessage): string {
  const { facility, severity, timestamp, hostname, appName, procId, msgId, structuredData, msg } = message;
  // PRI = facility × 8 + severity (RFC 5424 §6.2.1), so facility 0..23 and severity 0..7.
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) throw new RangeError(`syslog facility must be an integer 0..23, got ${facility}`);
  if (!Number.isInteger(severity) || severity < 0 || severity > 7) throw new RangeError(`syslog severity must be an integer 0..7, got ${severity}`);
  // A timestamp the grammar does not allow would shift every field after it.
  if (timestamp !== null && !TIMESTAMP.test(timestamp)) throw new RangeError(`syslog TIMESTAMP must be RFC 3339 as RFC 5424 §6.2.3 restricts it, got ${JSON.stringify(timestamp)}`);
  const header = [
    `<${facility * 8 + severity}>1`,
    timestamp ?? NILVALUE,
    headerField('hostname', hostname),
    headerField('appName', appName),
    headerField('procId', procId),
    headerField('msgId', msgId),
    structuredData.length === 0 ? NILVALUE : structuredData.map(formatStructuredElement).join(''),
  ].join(' ');
  return msg === undefined || msg === '' ? header : `${header} ${msg}`;
}

/** RFC 5425 §4.3 octet-counting: `MSG-LEN SP SYSLOG-MSG`, MSG-LEN the UTF-8 byte length. */
export function frameOctetCounted(syslogMessage: string): string {
  return `${Buffer.byteLength(syslogMessage, 'utf8')} ${syslogMessage}`;
}

/** The header fields that stay the same for every record a transport sends. */
export interface SyslogOrigin {
  facility: number;
  hostname: string | null;
  appName: string | null;
  procId: string | null;
}

/** A sink record as a SYSLOG-MSG: MSGID `audit` or `checkpoint`, `[argus@32473 seq kind]`, the body as MSG. */
export function formatSinkRecord(record: SinkRecord, origin: SyslogOrigin): string {
  return formatSyslogMessage({
    ...origin,
    severity: SYSLOG_SEVERITY[record.severity],
    timestamp: syslogTimestamp(record.time),
    msgId: record.kind === 'event' ? 'audit' : 'checkpoint',
    structuredData: [{ id: ARGUS_SD_ID, params: [['seq', String(record.seq)], ['kind', record.kind]] }],
    msg: record.body,
  });
}

/**
 * A record's time as an RFC 5424 TIMESTAMP: as it is when it already fits the grammar
 * (keeping microseconds), otherwise re-written in UTC, or the NILVALUE when it is no time at
 * all (the body still carries it; one odd record must not block the sink).
 */
export function syslogTimestamp(time: string): string | null {
  if (TIMESTAMP.test(time)) return time;
  const parsed = new Date(time);
  return Number.isNaN(parsed.getTime()) ? null : parsed.toISOString();
}

function headerField(name: keyof typeof HEADER_MAX, value: string | null): string {
  if (value === null) return NILVALUE;
  if (value !== toPrintUsAscii(value, HEADER_MAX[name])) {
    throw new RangeError(`syslog ${name} must be 1..${HEADER_MAX[name]} printable US-ASCII characters, got ${JSON.stringify(value)}`);
  }
  return value;
}

function formatStructuredElement({ id, params }: SyslogStructuredElement): string {
  if (!SD_NAME.test(id)) throw new RangeError(`syslog SD-ID must be an SD-NAME (RFC 5424 §6.3.2), got ${JSON.stringify(id)}`);
  const formatted = params.map(([name, value]) => {
    if (!SD_NAME.test(name)) throw new RangeError(`syslog PARAM-NAME must be an SD-NAME (RFC 5424 §6.3.3), got ${JSON.stringify(name)}`);
    return ` ${name}="${escapeParamValue(value)}"`;
  });
  return `[${id}${formatted.join('')}]`;
}

/** What can go wrong sending to a syslog receiver, each a stable code. */
export type SyslogTransportErrorCode = 'SYSLOG_CONNECT_FAILED' | 'SYSLOG_CONNECT_TIMEOUT' | 'SYSLOG_CONNECTION_LOST' | 'SYSLOG_WRITE_TIMEOUT' | 'SYSLOG_CLOSED';

export class SyslogTransportError extends Error {
  override name = 'SyslogTransportError';
  constructor(
    readonly code: SyslogTransportErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface SyslogTransportOptions {
  host: string;
  port: number;
  /** The CA(s) the receiver's certificate must chain to; without it, Node's public CA list. */
  ca?: string | Buffer;
  /** A client certificate and key, for receivers that require one (rsyslog `x509/certvalid`, `x509/name`). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The DNS name the receiver's certificate must carry (and SNI), when it is not `host`. */
  serverName?: string;
  appName?: string;
  hostname?: string;
  facility?: SyslogFacility;
  connectTimeoutMs?: number;
  /** How long a write may make no progress (the receiver not reading) before the batch fails. */
  writeTimeoutMs?: number;
  /** How long a new connection must stay open after the handshake before records go on it (see connect). */
  settleMs?: number;
}

// Frames are joined into writes of about this many characters: few syscalls and TLS
// records for a large batch, while a write still waits for 'drain' between chunks.
const CHUNK_CHARS = 64 * 1024;

/**
 * A transport that keeps one TLS connection to the receiver, opened on first use and again
 * after any failure. Calls to `deliver` run one after another, so batches arrive in order.
 */
export function createSyslogTransport(options: SyslogTransportOptions): SinkTransport {
  const { host, port, ca, cert, key, serverName, appName = 'argus', hostname = osHostname(), facility = 'authpriv', connectTimeoutMs = 10_000, writeTimeoutMs = 30_000, settleMs = 250 } = options;
  const origin: SyslogOrigin = {
    facility: SYSLOG_FACILITIES[facility],
    hostname: toPrintUsAscii(hostname, HEADER_MAX.hostname),
    appName: toPrintUsAscii(appName, HEADER_MAX.appName),
    procId: String(process.pid),
  };
  const where = `syslog receiver ${host}:${port}`;
  let socket: TLSSocket | null = null;
  let closed = false;
  let queue: Promise<void> = Promise.resolve();

  /** Forgets a connection (and ends it): the next batch opens a fresh one. */
  function drop(connection: TLSSocket): void {
    connection.destroy();
    if (socket === connection) socket = null;
  }

  /**
   * Opens a TLS connection and waits `settleMs` after the handshake before using it. A
   * receiver that requires a client certificate (rsyslog `x509/certvalid`) completes the
   * handshake and only then checks the certificate and hangs up, a few milliseconds later;
   * writing at once would hand it a batch it throws away while every write succeeds.
   */
  function connect(): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const connection = tlsConnect({
        host,
        port,
        ca,
        cert,
        key,
        // SNI takes DNS names only; for an IP address Node checks the certificate's IP SANs against `host`.
        servername: serverName && !isIP(serverName) ? serverName : undefined,
        // The receiver's certificate must chain to `ca` and name the host; never turned off.
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
      });
      let handshakeDone = false;
      let settleTimer: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => fail(new SyslogTransportError('SYSLOG_CONNECT_TIMEOUT', `${where}: no TLS connection within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      const onError = (error: Error) => fail(new SyslogTransportError('SYSLOG_CONNECT_FAILED', `${where}: cannot connect: ${error.message}`, { cause: error }));
      const onClose = () =>
        fail(
          new SyslogTransportError(
            'SYSLOG_CONNECT_FAILED',
            handshakeDone
              ? `${where}: closed the connection right after the TLS handshake (does it require a client certificate it did not get or trust?)`
              : `${where}: closed the connection during the TLS handshake`,
          ),
        );
      function fail(error: SyslogTransportError): void {
        clearTimeout(timer);
        clearTimeout(settleTimer);
        connection.off('secureConnect', onSecure);
        connection.off('error', onError);
        connection.off('end', onClose);
        connection.off('close', onClose);
        // Keep an error listener: a destroyed socket may still report one, which must not crash the process.
        connection.on('error', () => {});
        connection.destroy();
        reject(error);
      }
      function onSecure(): void {
        handshakeDone = true;
        // Receivers send nothing; reading lets the socket see the receiver's FIN ('end').
        connection.on('data', () => {});
        connection.once('end', onClose);
        settleTimer = setTimeout(ready, settleMs);
      }
      function ready(): void {
        clearTimeout(timer);
        connection.off('error', onError);
        connection.off('end', onClose);
        connection.off('close', onClose);
        connection.setKeepAlive(true, 30_000);
        connection.setNoDelay(true);
        // Between batches, any of these means the connection is gone: forget it.
        connection.on('error', () => drop(connection));
        connection.on('end', () => drop(connection));
        connection.on('close', () => drop(connection));
        resolve(connection);
      }
      connection.once('secureConnect', onSecure);
      connection.once('error', onError);
      connection.once('close', onClose);
    });
  }

  /** Writes every chunk in order, waiting for 'drain'; settles on the last write's callback or the first failure. */
  function writeAll(connection: TLSSocket, chunks: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let next = 0;
      const onError = (error: Error) => finish(new SyslogTransportError('SYSLOG_CONNECTION_LOST', `${where}: connection failed during a batch: ${error.message}`, { cause: error }));
      const onGone = () => finish(new SyslogTransportError('SYSLOG_CONNECTION_LOST', `${where}: closed the connection during a batch`));
      const onTimeout = () => finish(new SyslogTransportError('SYSLOG_WRITE_TIMEOUT', `${where}: read nothing of the batch for ${writeTimeoutMs} ms`));
      function finish(error?: SyslogTransportError): void {
        if (settled) return;
        settled = true;
        connection.off('error', onError);
        connection.off('end', onGone);
        connection.off('close', onGone);
        connection.off('timeout', onTimeout);
        connection.off('drain', writeMore);
        connection.setTimeout(0);
        if (error) {
          // Part of a frame may have gone out: never write on this connection again.
          drop(connection);
          reject(error);
        } else {
          resolve();
        }
      }
      function writeMore(): void {
        while (next < chunks.length && !settled) {
          const chunk = chunks[next]!;
          next += 1;
          if (next === chunks.length) {
            // Callbacks run in write order, so the last one means the whole batch left.
            connection.write(chunk, 'utf8', (error) => finish(error ? new SyslogTransportError('SYSLOG_CONNECTION_LOST', `${where}: write failed: ${error.message}`, { cause: error }) : undefined));
          } else if (!connection.write(chunk, 'utf8')) {
            connection.once('drain', writeMore);
            return;
          }
        }
      }
      connection.on('error', onError);
      connection.once('end', onGone);
      connection.once('close', onGone);
      connection.setTimeout(writeTimeoutMs);
      connection.on('timeout', onTimeout);
      if (connection.destroyed || !connection.writable) return onGone();
      writeMore();
    });
  }

  async function deliverBatch(records: readonly SinkRecord[]): Promise<void> {
    if (closed) throw new SyslogTransportError('SYSLOG_CLOSED', `${where}: the transport is closed`);
    if (records.length === 0) return;
    const chunks: string[] = [];
    let chunk = '';
    for (const record of records) {
      chunk += frameOctetCounted(formatSinkRecord(record, origin));
      if (chunk.length >= CHUNK_CHARS) {
        chunks.push(chunk);
        chunk = '';
      }
    }
    if (chunk) chunks.push(chunk);
    if (socket && (socket.destroyed || !socket.writable)) drop(socket);
    socket ??= await connect();
    await writeAll(socket, chunks);
  }

  return {
    deliver(records) {
      const run = queue.then(() => deliverBatch(records));
      queue = run.catch(() => {});
      return run;
    },
    async close() {
      closed = true;
      await queue;
      const connection = socket;
      socket = null;
      if (!connection || connection.destroyed) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => connection.destroy(), 2_000);
        connection.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        connection.end();
      });
    },
  };
}
