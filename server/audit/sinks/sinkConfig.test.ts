import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../../config.ts';
import { AUDIT_SINK_ENV, auditSinksFromEnv, sinkTarget, type AuditSinkConfig } from './sinkConfig.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'argus-sink-config-'));
const TOKEN = 'hec-token-5f0c1a9e-7c1b-4d0e-9a51-0b6e2f1d8c33';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const file = (name: string, text: string) => {
  const at = path.join(dir, name);
  writeFileSync(at, text);
  return at;
};

/** The sinks alone, as loadConfig reads them. */
function sinks(env: Record<string, string>): AuditSinkConfig[] {
  const parsed = z.object(AUDIT_SINK_ENV).safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n'));
  return auditSinksFromEnv(parsed.data, (message) => new ConfigError(message));
}

describe('SIEM sink configuration', () => {
  it('reads every sink through loadConfig', () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      ARGUS_DATA_DIR: dir,
      AUDIT_SINK_SYSLOG_URL: 'tls://siem.example.com:6514',
      AUDIT_SINK_SYSLOG_CA_FILE: file('ca.pem', PEM),
      AUDIT_SINK_SYSLOG_FORMAT: 'cef',
      AUDIT_SINK_HTTP_URL: 'https://splunk.example.com:8088/services/collector/raw?sourcetype=_json',
      AUDIT_SINK_HTTP_TOKEN_FILE: file('token', `${TOKEN}\n`),
      AUDIT_SINK_HTTP_AUTH_SCHEME: 'Splunk',
      AUDIT_CHECKPOINT_FILE: path.join(dir, 'checkpoints.jsonl'),
    });
    expect(config.audit.sinks).toEqual([
      { kind: 'syslog', host: 'siem.example.com', port: 6514, ca: PEM, cert: null, key: null, serverName: null, facility: 'authpriv', format: 'cef' },
      {
        kind: 'http',
        url: 'https://splunk.example.com:8088/services/collector/raw?sourcetype=_json',
        token: TOKEN,
        authScheme: 'Splunk',
        envelope: 'ndjson',
        recordFormat: 'jsonl',
      },
      { kind: 'checkpoint-file', path: path.join(dir, 'checkpoints.jsonl') },
    ]);
    expect(loadConfig({ NODE_ENV: 'test', ARGUS_DATA_DIR: dir }).audit.sinks).toEqual([]);
  });

  it('shows only host and port of a sink URL, never its path, query or token', () => {
    const [http] = sinks({ AUDIT_SINK_HTTP_URL: 'https://splunk.example.com:8088/services/collector/raw?token=abc', AUDIT_SINK_HTTP_TOKEN: TOKEN });
    expect(sinkTarget(http!)).toBe('splunk.example.com:8088');
    const [syslog] = sinks({ AUDIT_SINK_SYSLOG_URL: 'tls://[::1]:6514' });
    expect(sinkTarget(syslog!)).toBe('[::1]:6514');
  });

  it.each([
    [{ AUDIT_SINK_SYSLOG_URL: 'udp://siem.example.com:514' }, 'AUDIT_SINK_SYSLOG_URL: must be tls://host:port'],
    [{ AUDIT_SINK_SYSLOG_URL: 'tls://siem.example.com' }, 'AUDIT_SINK_SYSLOG_URL: must be tls://host:port'],
    [{ AUDIT_SINK_SYSLOG_URL: 'tls://siem.example.com:70000' }, 'AUDIT_SINK_SYSLOG_URL: port 70000'],
    [{ AUDIT_SINK_SYSLOG_URL: 'tls://siem:6514', AUDIT_SINK_SYSLOG_CERT_FILE: '/nonexistent' }, 'AUDIT_SINK_SYSLOG_CERT_FILE: a client certificate needs its key'],
    [{ AUDIT_SINK_SYSLOG_URL: 'tls://siem:6514', AUDIT_SINK_SYSLOG_CA_FILE: '/nonexistent/ca.pem' }, 'AUDIT_SINK_SYSLOG_CA_FILE: cannot read'],
    [{ AUDIT_SINK_SYSLOG_CA_FILE: '/etc/ca.pem' }, 'AUDIT_SINK_SYSLOG_CA_FILE: set AUDIT_SINK_SYSLOG_URL too'],
    [{ AUDIT_SINK_SYSLOG_URL: 'tls://siem:6514', AUDIT_SINK_SYSLOG_FORMAT: 'csv' }, 'AUDIT_SINK_SYSLOG_FORMAT'],
    [{ AUDIT_SINK_HTTP_URL: 'http://siem.example.com/hook', AUDIT_SINK_HTTP_TOKEN: TOKEN }, 'AUDIT_SINK_HTTP_URL: must be https://'],
    [{ AUDIT_SINK_HTTP_URL: 'https://user:pass@siem.example.com/hook', AUDIT_SINK_HTTP_TOKEN: TOKEN }, 'AUDIT_SINK_HTTP_URL: must not hold credentials'],
    [{ AUDIT_SINK_HTTP_URL: 'ftp://siem.example.com/hook', AUDIT_SINK_HTTP_TOKEN: TOKEN }, 'AUDIT_SINK_HTTP_URL'],
    [{ AUDIT_SINK_HTTP_URL: 'https://siem.example.com/hook' }, 'AUDIT_SINK_HTTP_TOKEN_FILE: the HTTP sink needs a token'],
    [{ AUDIT_SINK_HTTP_URL: 'https://siem.example.com/hook', AUDIT_SINK_HTTP_TOKEN: TOKEN, AUDIT_SINK_HTTP_TOKEN_FILE: '/x' }, 'not both'],
    [{ AUDIT_SINK_HTTP_TOKEN: TOKEN }, 'AUDIT_SINK_HTTP_TOKEN: set AUDIT_SINK_HTTP_URL too'],
    [{ AUDIT_SINK_HTTP_URL: 'https://siem.example.com/hook', AUDIT_SINK_HTTP_TOKEN: TOKEN, AUDIT_SINK_HTTP_FORMAT: 'splunk-hec' }, 'AUDIT_SINK_HTTP_AUTH_SCHEME: must be Splunk'],
    [{ AUDIT_CHECKPOINT_FILE: '/nonexistent-dir/checkpoints.jsonl' }, 'AUDIT_CHECKPOINT_FILE: /nonexistent-dir must be an existing directory'],
    [{ AUDIT_CHECKPOINT_FILE: dir }, 'is not a regular file'],
  ])('refuses %o at start-up', (env, message) => {
    expect(() => sinks(env)).toThrow(message);
  });

  it('plain http:// is allowed to this machine only', () => {
    expect(sinks({ AUDIT_SINK_HTTP_URL: 'http://127.0.0.1:8088/hook', AUDIT_SINK_HTTP_TOKEN: TOKEN })).toHaveLength(1);
    expect(sinks({ AUDIT_SINK_HTTP_URL: 'http://localhost:8088/hook', AUDIT_SINK_HTTP_TOKEN: TOKEN })).toHaveLength(1);
  });

  it('refuses a token that could not go in a header, without quoting it', () => {
    for (const token of ['short-token', 'has a space in the middle of it', 'line\nbreak-in-the-token-value']) {
      let error: unknown;
      try {
        loadConfig({ NODE_ENV: 'test', ARGUS_DATA_DIR: dir, AUDIT_SINK_HTTP_URL: 'https://siem.example.com/hook', AUDIT_SINK_HTTP_TOKEN: token });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('AUDIT_SINK_HTTP_TOKEN');
      expect((error as Error).message).not.toContain(token);
    }
    const badFile = file('bad-token', 'two words\n');
    expect(() => sinks({ AUDIT_SINK_HTTP_URL: 'https://siem.example.com/hook', AUDIT_SINK_HTTP_TOKEN_FILE: badFile })).toThrow(/AUDIT_SINK_HTTP_TOKEN_FILE: .* must hold/);
  });
});
