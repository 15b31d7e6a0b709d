import { z } from 'zod';
import type { AuditListResponse } from '../../shared/audit.ts';
import { verifyAuditChain } from '../audit/verify.ts';
import { listAuditEvents } from '../db/audit.ts';
import { defineRoute } from '../http/route.ts';

const AUDIT_READERS = ['auditor', 'admin'] as const;

export const auditRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/audit/events',
    access: AUDIT_READERS,
    summary: 'Audit events, newest first (keyset pagination by sequence number).',
    query: z.strictObject({
      after: z.coerce.number().int().positive().optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
      action: z.string().max(64).optional(),
      actorId: z.uuid().optional(),
    }),
    async handler({ query, deps }) {
      const events = await listAuditEvents(deps.pool, { ...query, beforeSeq: query.after, limit: query.limit + 1 });
      const page = events.slice(0, query.limit);
      const body: AuditListResponse = {
        events: page,
        nextCursor: events.length > query.limit ? String(page[page.length - 1]!.seq) : null,
      };
      return { body };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/audit/verify',
    access: AUDIT_READERS,
    summary: 'Verify the whole audit hash chain from its first event.',
    // It reads and hashes every event ever recorded.
    rateLimit: { name: 'audit-verify', points: 6, windowSeconds: 60 },
    async handler({ deps }) {
      return { body: await verifyAuditChain(deps.pool) };
    },
  }),
];
