import { z } from 'zod';
import type { AcknowledgeBreakResponse, AuditEventResponse, ChainAlarmsResponse, ChainVerification, ExportManifest, GrantProofResponse } from '../../shared/audit.ts';
import { BREAK_STATEMENT_LENGTH } from '../../shared/audit.ts';
import { acknowledgeChainBreak } from '../audit/breakAcknowledgement.ts';
import { proofForEvent } from '../audit/grantProof.ts';
import { listChainAlarms } from '../db/auditIntegrity.ts';
import { EXPORT_FORMATS, exportFileName, OUTCOMES, SEVERITIES, type AuditListResponse, type AuditSigningKeyView } from '../../shared/audit.ts';
import { ExportAborted } from '../audit/export/streamExport.ts';
import { claimExportSlot, getExportManifest, prepareExport, runExport } from '../audit/export/exportAuditEvents.ts';
import { verifyAuditChain } from '../audit/verify.ts';
import { countAuditEventsUpTo, getAuditEvent, searchAuditEvents } from '../db/audit.ts';
import { pageOf } from '../http/cursors.ts';
import { defineRoute, responds } from '../http/route.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { IsoTimestamp } from '../http/timestamps.ts';

const AUDIT_READERS = ['auditor', 'admin'] as const;

/** How many chain alarms the audit page is shown: the open one, if any, and the latest acknowledged. */
const CHAIN_ALARMS_SHOWN = 20;

/** How long a search may spend counting its events; past it the page comes without a total. */
const COUNT_BUDGET_MS = 250;

/** The filters a search and an export share. */
const auditSearch = {
  from: IsoTimestamp.optional(),
  to: IsoTimestamp.optional(),
  actor: z.string().min(1).max(100).optional(),
  action: z.string().min(1).max(64).optional(),
  target: z.string().min(1).max(512).optional(),
  outcome: z.enum(OUTCOMES).optional(),
  severity: z.enum(SEVERITIES).optional(),
  model: z.string().min(1).max(512).optional(),
};

export const auditRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/audit/events',
    access: AUDIT_READERS,
    summary:
      "Search audit events, newest first (keyset pagination by sequence number), each with its target's name; the first page also counts the matches (up to 10,000).",
    response: responds<AuditListResponse>(),
    query: z.strictObject({
      after: z.coerce.number().int().positive().optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
      ...auditSearch,
    }),
    async handler({ query, deps }) {
      const { after, limit, ...filter } = query;
      // Only the first page is counted: paging on does not change the total.
      const [events, total] = await Promise.all([
        searchAuditEvents(deps.pool, filter, { beforeSeq: after, limit: limit + 1 }),
        after === undefined ? countAuditEventsUpTo(deps.pool, filter, { budgetMs: COUNT_BUDGET_MS }) : null,
      ]);
      const { page, nextCursor } = pageOf(events, limit, (last) => String(last.seq));
      const body: AuditListResponse = { events: page, nextCursor, total };
      return { body };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/audit/events/:seq',
    access: AUDIT_READERS,
    summary: 'One audit event with every field.',
    response: responds<AuditEventResponse>(),
    params: z.strictObject({ seq: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) }),
    async handler({ params, deps }) {
      const event = await getAuditEvent(deps.pool, params.seq);
      if (!event) throw notFound(`There is no audit event #${params.seq}.`);
      return { body: { event } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/audit/events/:seq/proof',
    access: AUDIT_READERS,
    summary:
      "The presence proof of a grant event, or of the grant a restricted use or a grant's end names: whether its recorded assertion verifies with the public key of its credential's registration event (docs/presence-proofs.md).",
    response: responds<GrantProofResponse>(),
    // A few reads and one signature verification each: one per drawer opened.
    rateLimit: { name: 'audit-proof', points: 120, windowSeconds: 60 },
    params: z.strictObject({ seq: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) }),
    async handler({ params, deps }) {
      const event = await getAuditEvent(deps.pool, params.seq);
      if (!event) throw notFound(`There is no audit event #${params.seq}.`);
      const proof = await proofForEvent(deps.pool, event);
      if (!proof) throw notFound(`Audit event #${params.seq} names no grant.`);
      return { body: proof };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/audit/verify',
    access: AUDIT_READERS,
    summary: 'Verify the whole audit hash chain from its first event, and hold it against the signed checkpoints.',
    response: responds<ChainVerification>(),
    // It reads and hashes every event ever recorded.
    rateLimit: { name: 'audit-verify', points: 6, windowSeconds: 60 },
    async handler({ deps }) {
      return { body: await verifyAuditChain(deps.pool, { publicKey: deps.auditSigner.trustedPublicKeys }) };
    },
  }),

  // Public on purpose: a public key is no secret, and offline verifiers (scripts, SIEMs,
  // another team's auditor) should fetch it from one stable URL without an Argus account.
  // They pin it by the fingerprint the SPA shows.
  defineRoute({
    method: 'get',
    path: '/api/audit/signing-key',
    access: 'public',
    summary: 'The Ed25519 public key that signs export manifests and checkpoints.',
    response: responds<AuditSigningKeyView>(),
    async handler({ deps }) {
      const body: AuditSigningKeyView = { algorithm: 'Ed25519', publicKeyPem: deps.auditSigner.publicKeyPem, fingerprint: deps.auditSigner.fingerprint };
      return { body };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/audit/signing-key.pem',
    access: 'public',
    summary: 'The same public key as a PEM file, for `openssl -pubin -inkey` and `npm run audit:verify --key`.',
    async handler({ res, deps }) {
      res.type('application/x-pem-file').setHeader('Content-Disposition', 'attachment; filename="argus-audit-signing-key.pub.pem"');
      res.send(deps.auditSigner.publicKeyPem);
      return {};
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/audit/exports',
    access: AUDIT_READERS,
    readOnly: true,
    // Each one reads (and the client downloads) up to the whole log; four run at once per node.
    rateLimit: { name: 'audit-export', points: 20, windowSeconds: 60 },
    summary: 'Stream the events a filter selects as a file; the signed manifest is fetched afterwards.',
    body: z.strictObject({ format: z.enum(EXPORT_FORMATS), filter: z.strictObject(auditSearch).default({}) }),
    async handler({ req, res, body, user, audit, deps }) {
      const release = claimExportSlot(deps.pool);
      res.on('close', release);
      const prepared = await prepareExport({ pool: deps.pool, context: audit, format: body.format, filter: body.filter }).catch((error: unknown) => {
        release();
        throw error;
      });
      res.status(200);
      res.setHeader('Content-Type', prepared.contentType);
      res.setHeader('Content-Disposition', `attachment; filename="${prepared.fileName}"`);
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('X-Argus-Export-Id', prepared.exportId);
      res.setHeader('X-Argus-Export-Events', String(prepared.expectedEvents));
      try {
        await runExport({ pool: deps.pool, redis: deps.redis, signer: deps.auditSigner, prepared, sink: res, exporter: { id: user.id, username: user.username } });
        res.end();
      } catch (error) {
        // Mid-stream there is no error response to send: cut the connection so the client
        // sees a failed download, never a short file that looks complete.
        if (!(error instanceof ExportAborted)) deps.log.error({ reqId: req.requestId, err: error }, 'audit export failed');
        res.destroy();
      } finally {
        release();
      }
      return {};
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/audit/exports/:id/manifest',
    access: AUDIT_READERS,
    rateLimit: { name: 'audit-manifest', points: 60, windowSeconds: 60 },
    summary: "A finished export's signed manifest (for whoever ran the export, for 24 hours).",
    response: responds<ExportManifest>(),
    params: z.strictObject({ id: z.uuid() }),
    async handler({ res, params, user, deps }) {
      const manifest = await getExportManifest(deps.redis, params.id, user.id);
      if (!manifest) throw notFound('No finished export with that id is yours to fetch (manifests are kept for 24 hours).');
      // Named after its file, which it signs: "argus-audit-2026-12-01_to_2026-12-06.jsonl.manifest.json".
      const fileName = exportFileName({ format: manifest.format, from: manifest.filter.from, to: manifest.filter.to, now: new Date(manifest.exportedAt) });
      res.setHeader('Content-Disposition', `attachment; filename="${fileName}.manifest.json"`);
      return { body: manifest };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/audit/chain-alarms',
    access: AUDIT_READERS,
    summary: 'Breaks the checkpoint timer found in the audit chain, newest first, with their acknowledgements. While one is unacknowledged no checkpoint is signed.',
    response: responds<ChainAlarmsResponse>(),
    async handler({ deps }) {
      return { body: { alarms: await listChainAlarms(deps.pool, CHAIN_ALARMS_SHOWN) } };
    },
  }),

  // Auditors only: the people who review the log vouch for where it stands, not the admins
  // whose actions it records. A fresh key touch, as for every sensitive change.
  defineRoute({
    method: 'post',
    path: '/api/audit/chain-alarms/:id/acknowledge',
    access: ['auditor'],
    stepUp: true,
    summary:
      'Acknowledge a chain break with a statement. Argus signs it with the audit signing key, stores it on the alarm and records it in the chain; checkpoints are then signed again, verified onwards from the head the alarm recorded.',
    response: responds<AcknowledgeBreakResponse>(),
    params: z.strictObject({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) }),
    body: z.strictObject({
      statement: z
        .string()
        .trim()
        .min(BREAK_STATEMENT_LENGTH.min, `Say what happened and what was done, in at least ${BREAK_STATEMENT_LENGTH.min} characters.`)
        .max(BREAK_STATEMENT_LENGTH.max, `At most ${BREAK_STATEMENT_LENGTH.max} characters.`),
    }),
    async handler({ params, body, user, audit, deps }) {
      const result = await acknowledgeChainBreak({
        pool: deps.pool,
        signer: deps.auditSigner,
        alarmId: params.id,
        statement: body.statement,
        context: { ...audit, actor: { id: user.id, username: user.username } },
      });
      if (!result.acknowledged && result.reason === 'not_found') throw notFound(`There is no chain alarm #${params.id}.`);
      if (!result.acknowledged) throw new HttpError(409, 'CONFLICT', `Chain alarm #${params.id} is already acknowledged.`);
      deps.log.warn({ alarmId: result.alarm.id, brokenSeq: result.alarm.brokenSeq, by: user.id }, 'audit chain break acknowledged: checkpoints resume');
      return { body: { alarm: result.alarm } };
    },
  }),
];
