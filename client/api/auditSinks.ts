import { query } from '@solidjs/router';
import type { AuditSinkListResponse } from '../../shared/auditSinks.ts';
import { request } from './http.ts';

/** GET /api/audit/sinks: the SIEM sinks the audit log streams to, with each one's state and lag. */
export const listAuditSinks = query(async () => (await request<AuditSinkListResponse>('GET', '/api/audit/sinks')).sinks, 'auditSinks');
