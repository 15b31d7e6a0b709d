import type { AuditSinkListResponse } from '../../shared/auditSinks.ts';
import { readAuditSinkStatuses } from '../audit/sinks/status.ts';
import { defineRoute, responds } from '../http/route.ts';

export const auditSinkRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/audit/sinks',
    access: ['auditor', 'admin'],
    summary:
      "The SIEM sinks the audit log streams to: each one's kind, target host, format, state (delivering, retrying, down), lag in events and seconds, last delivery and last error.",
    response: responds<AuditSinkListResponse>(),
    async handler({ deps }) {
      // Read from the cursors in Postgres: the same answer on every node, whichever is delivering.
      const body: AuditSinkListResponse = { sinks: await readAuditSinkStatuses(deps.pool, deps.config.audit.sinks) };
      return { body };
    },
  }),
];
