/** The configured SIEM sinks, turned into deliverable sinks, and started with the node. */
import type { Pool } from '../../db/pool.ts';
import type { Logger } from '../../log.ts';
import { createCheckpointFileTransport } from './checkpointFile.ts';
import { startAuditSinkDelivery, type AuditAppendedChannel, type DeliveryTuning, type SinkDefinition } from './delivery.ts';
import { createHttpTransport } from './http.ts';
import { setAuditSinkStatusSource } from './metrics.ts';
import type { AuditSinkConfig } from './sinkConfig.ts';
import { readAuditSinkStatuses, sinkIdOf } from './status.ts';
import { createSyslogTransport } from './syslog.ts';

export function sinkDefinition(sink: AuditSinkConfig): SinkDefinition {
  const id = sinkIdOf(sink);
  switch (sink.kind) {
    case 'syslog':
      return {
        id,
        recordFormat: sink.format,
        checkpointsOnly: false,
        secrets: [],
        createTransport: () =>
          createSyslogTransport({
            host: sink.host,
            port: sink.port,
            ...(sink.ca !== null && { ca: sink.ca }),
            ...(sink.cert !== null && { cert: sink.cert }),
            ...(sink.key !== null && { key: sink.key }),
            ...(sink.serverName !== null && { serverName: sink.serverName }),
            facility: sink.facility,
          }),
      };
    case 'http':
      return {
        id,
        recordFormat: sink.recordFormat,
        checkpointsOnly: false,
        secrets: [sink.token],
        createTransport: () => createHttpTransport({ url: sink.url, token: sink.token, authScheme: sink.authScheme, envelope: sink.envelope }),
      };
    case 'checkpoint-file':
      return { id, recordFormat: 'jsonl', checkpointsOnly: true, secrets: [], createTransport: () => createCheckpointFileTransport({ path: sink.path }) };
  }
}

/**
 * Starts streaming to the configured sinks (none: nothing runs) and points the lag metrics at
 * their cursors. Returns what stops it, before the node's pool closes.
 */
export function startAuditSinks({
  sinks,
  databaseUrl,
  pool,
  log,
  tuning,
  auditAppended,
}: {
  sinks: readonly AuditSinkConfig[];
  databaseUrl: string;
  /** The node's pool, for the metrics' reads. */
  pool: Pool;
  log: Logger;
  tuning?: Partial<DeliveryTuning>;
  /** The node's `argus_audit` channel (startAuditSinkDelivery); without it delivery listens on its own. */
  auditAppended?: AuditAppendedChannel;
}): () => Promise<void> {
  if (sinks.length === 0) return async () => {};
  const delivery = startAuditSinkDelivery({ databaseUrl, sinks: sinks.map(sinkDefinition), log, ...(tuning && { tuning }), ...(auditAppended && { auditAppended }) });
  setAuditSinkStatusSource(() => readAuditSinkStatuses(pool, sinks));
  log.info({ sinks: sinks.map(sinkIdOf) }, 'audit streaming to SIEM sinks');
  return async () => {
    setAuditSinkStatusSource(null);
    await delivery.stop();
  };
}
