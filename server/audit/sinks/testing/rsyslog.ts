/**
 * A real rsyslog for the syslog sink's tests: a throwaway CA and server certificate, an
 * `imtcp` input with the GnuTLS stream driver (RFC 5425) on a free loopback port, and every
 * message it receives written as rsyslog's own JSON (`%jsonmesg%`) to a file the test reads.
 *
 * It runs `rsyslogd -n` as a child with its own config, pid file and work directory, loads
 * no system inputs (imuxsock, imklog) and binds only 127.0.0.1, so a system rsyslog, if
 * there is one, is left alone.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { freePort } from '../../../test/env.ts';

const INSTALL_HINT = 'install it with `apt-get install rsyslog rsyslog-gnutls` (.ci/run does)';

export class RsyslogNotInstalledError extends Error {
  override name = 'RsyslogNotInstalledError';
  constructor() {
    super(`The syslog sink tests need a real rsyslogd with GnuTLS: ${INSTALL_HINT}.`);
  }
}

/** One message as rsyslog parsed it (a subset of `%jsonmesg%`). */
export interface ReceivedSyslogMessage {
  msg: string;
  rawmsg: string;
  pri: number;
  facility: number;
  severity: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  structuredData: string;
}

export interface TestRsyslog {
  port: number;
  /** The test CA that signed the receiver's certificate (and the client certificate). */
  caPem: string;
  /** With `requireClientCert`: a certificate and key from the same CA that the receiver accepts. */
  clientCertPem: string;
  clientKeyPem: string;
  outputFile: string;
  /** The raw lines of the output file, one per received message. */
  readLines(): string[];
  readMessages(): ReceivedSyslogMessage[];
  /** Waits until the output file holds at least `count` messages, and returns them all. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedSyslogMessage[]>;
  /** Stops rsyslogd (SIGTERM, or `signal`) but keeps its files, so `start` can bring it back on the same port. */
  halt(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  /** Stops rsyslogd and deletes everything it wrote. */
  stop(): Promise<void>;
  /** The rsyslogd process, for tests that pause it (SIGSTOP) to hold back its reads. */
  readonly pid: number | undefined;
}

/** Finds rsyslogd (root has /usr/sbin on PATH, other users may not), or throws naming the packages. */
function rsyslogdPath(): string {
  for (const candidate of ['rsyslogd', '/usr/sbin/rsyslogd']) {
    if (!spawnSync(candidate, ['-v'], { stdio: 'ignore' }).error) return candidate;
  }
  throw new RsyslogNotInstalledError();
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

export interface TestCertificateAuthority {
  certFile: string;
  keyFile: string;
  pem: string;
}

/** A one-day EC P-256 CA in `dir` (the tests also use one as a CA the receiver's certificate does not chain to). */
export function createTestCa(dir: string, name = 'ca'): TestCertificateAuthority {
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}.key`);
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=Argus test ${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', keyFile, '-out', certFile],
    dir,
  );
  return { certFile, keyFile, pem: readFileSync(certFile, 'utf8') };
}

/** A leaf certificate signed by `ca`, with the given extensions (SANs, extended key usage). */
function issueCertificate(dir: string, ca: TestCertificateAuthority, name: string, extensions: string[]): { certFile: string; keyFile: string } {
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const extFile = path.join(dir, `${name}.ext`);
  writeFileSync(extFile, ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', ...extensions, ''].join('\n'));
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', keyFile, '-out', csr], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', String(Date.now()), '-days', '1', '-extfile', extFile, '-out', certFile], dir);
  return { certFile, keyFile };
}

function rsyslogConfig({ dir, port, caFile, certFile, keyFile, outputFile, authMode }: { dir: string; port: number; caFile: string; certFile: string; keyFile: string; outputFile: string; authMode: string }): string {
  return `# Argus syslog sink test receiver: nothing from the system, only the TLS input below.
global(
  workDirectory="${dir}"
  net.enableDNS="off"
  # Argus bodies can be longer than the 8k default; bigger messages would be cut.
  maxMessageSize="64k"
  # rsyslog writes control characters as #ooo by default; off here so the test compares bytes exactly.
  parser.escapeControlCharactersOnReceive="off"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile="${caFile}"
  defaultNetstreamDriverCertFile="${certFile}"
  defaultNetstreamDriverKeyFile="${keyFile}"
)
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="${authMode}")
template(name="argusTestJson" type="string" string="%jsonmesg%\\n")
ruleset(name="argusTest") {
  action(type="omfile" file="${outputFile}" template="argusTestJson")
}
input(type="imtcp" address="127.0.0.1" port="${port}" ruleset="argusTest")
# rsyslog's own messages, for diagnosing a failed start.
action(type="omfile" file="${path.join(dir, 'rsyslogd.log')}")
`;
}

/** Resolves once a TLS handshake with the receiver succeeds; rejects if rsyslogd exits or 10 s pass. */
async function waitForTls(port: number, caPem: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ready = await new Promise<boolean>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: caPem }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ready) return;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`rsyslogd did not start (it needs rsyslog and rsyslog-gnutls: ${INSTALL_HINT}): ${output().trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function parseJsonMessage(line: string): ReceivedSyslogMessage {
  const json = JSON.parse(line) as Record<string, string>;
  return {
    msg: json.msg ?? '',
    rawmsg: json.rawmsg ?? '',
    pri: Number(json.pri),
    facility: Number(json.syslogfacility),
    severity: Number(json.syslogseverity),
    timestamp: json.timereported ?? '',
    hostname: json.hostname ?? '',
    appName: json['app-name'] ?? '',
    procId: json.procid ?? '',
    msgId: json.msgid ?? '',
    structuredData: json['structured-data'] ?? '',
  };
}

/**
 * Starts an rsyslog that accepts RFC 5425 syslog over TLS on 127.0.0.1. With
 * `requireClientCert`, it also demands a client certificate from its CA (`x509/certvalid`).
 */
export async function startTestRsyslog({ requireClientCert = false }: { requireClientCert?: boolean } = {}): Promise<TestRsyslog> {
  const rsyslogd = rsyslogdPath();
  const dir = mkdtempSync(path.join(tmpdir(), 'argus-rsyslog-'));
  const ca = createTestCa(dir);
  const server = issueCertificate(dir, ca, 'localhost', ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'extendedKeyUsage=serverAuth']);
  const client = issueCertificate(dir, ca, 'argus-client', ['extendedKeyUsage=clientAuth']);
  const port = await freePort();
  const outputFile = path.join(dir, 'received.jsonl');
  const configFile = path.join(dir, 'rsyslog.conf');
  writeFileSync(
    configFile,
    rsyslogConfig({ dir, port, caFile: ca.certFile, certFile: server.certFile, keyFile: server.keyFile, outputFile, authMode: requireClientCert ? 'x509/certvalid' : 'anon' }),
  );

  let child: ChildProcess | null = null;
  const killOnExit = () => child?.kill('SIGKILL');

  async function start(): Promise<void> {
    let output = '';
    const started = spawn(rsyslogd, ['-n', '-f', configFile, '-i', path.join(dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    process.once('exit', killOnExit);
    for (const stream of [started.stdout, started.stderr]) stream?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitForTls(port, ca.pem, started, () => output);
  }

  async function halt(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const running = child;
    child = null;
    process.off('exit', killOnExit);
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => running.kill('SIGKILL'), 5_000);
      running.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      running.kill(signal);
    });
  }

  function readLines(): string[] {
    if (!existsSync(outputFile)) return [];
    return readFileSync(outputFile, 'utf8').split('\n').slice(0, -1);
  }

  await start();
  return {
    port,
    caPem: ca.pem,
    clientCertPem: readFileSync(client.certFile, 'utf8'),
    clientKeyPem: readFileSync(client.keyFile, 'utf8'),
    outputFile,
    get pid() {
      return child?.pid;
    },
    readLines,
    readMessages: () => readLines().map(parseJsonMessage),
    async waitForMessages(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        // Count line ends without parsing: the file may hold tens of megabytes.
        const file = existsSync(outputFile) ? readFileSync(outputFile) : Buffer.alloc(0);
        let lines = 0;
        for (let at = file.indexOf(10); at !== -1; at = file.indexOf(10, at + 1)) lines += 1;
        if (lines >= count) return readLines().map(parseJsonMessage);
        if (Date.now() > deadline) throw new Error(`rsyslog wrote ${lines} messages within ${timeoutMs} ms, expected ${count}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    halt,
    start,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
