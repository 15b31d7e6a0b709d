/** Helpers shared by the audit tests: tampering as a database attacker would, and exports over HTTP. */
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { AuditEventView, AuditSearch, ExportFormat, ExportManifest } from '../../../shared/audit.ts';
import { getAuditChainHead, getLatestCheckpoint, listAuditEventsAscending } from '../../db/audit.ts';
import { withClient, type Pool } from '../../db/pool.ts';
import type { TestClient } from '../../test/harness.ts';
import { canonicalJsonAround } from '../canonicalJson.ts';
import { eventHash, GENESIS_HASH } from '../chain.ts';
import { streamAuditExport } from '../export/streamExport.ts';
import { signManifest } from '../manifest.ts';
import { recordAuditEvent } from '../record.ts';
import type { AuditSigner } from '../signingKey.ts';

/**
 * Runs SQL with the append-only triggers bypassed, as an attacker with superuser access could.
 * `ownerPool` must connect as a superuser (the test cluster's admin role: `useTestDatabase().ownerPool`,
 * `node.ownerPool()`); the server's role may not write the audit tables at all (sql/000015).
 */
export async function tamper(ownerPool: Pool, sql: string, values: unknown[] = []): Promise<void> {
  await withClient(ownerPool, async (client) => {
    await client.query("SET session_replication_role = 'replica'");
    try {
      await client.query(sql, values);
    } finally {
      await client.query("SET session_replication_role = 'origin'");
    }
  });
}

/** Empties the chain (its checkpoints and break alarms too) as the owner, and appends `count` sign-in events. */
export async function resetChain(ownerPool: Pool, count: number): Promise<void> {
  await tamper(ownerPool, 'DELETE FROM audit_event');
  await tamper(ownerPool, 'DELETE FROM audit_checkpoint');
  // A break an earlier test left open would stop the checkpoint timer signing the new chain.
  await tamper(ownerPool, 'DELETE FROM audit_chain_alarm');
  for (let i = 0; i < count; i += 1) {
    await recordAuditEvent(ownerPool, { actor: { id: '00000000-0000-4000-8000-000000000001', username: i % 2 ? 'alice' : 'bob' }, ip: '10.0.0.1', userAgent: 'test' }, {
      action: i % 3 === 2 ? 'auth.signin_failed' : 'auth.signin',
      outcome: i % 3 === 2 ? 'failure' : 'success',
      details: { n: i, text: 'a "quoted", multi\nline value é' },
    });
  }
}

/**
 * Rewrites the whole chain from `fromSeq` with every hash recomputed, after `edit` changed
 * the rows: what a careful attacker does so the chain alone still verifies. As the owner.
 */
export async function rewriteChainFrom(ownerPool: Pool, fromSeq: number): Promise<void> {
  const events: AuditEventView[] = await listAuditEventsAscending(ownerPool, 0, 100_000);
  let prevHash = GENESIS_HASH;
  for (const event of events) {
    if (event.seq >= fromSeq) {
      const hash = eventHash(prevHash, event);
      await tamper(ownerPool, 'UPDATE audit_event SET prev_hash = $1, hash = $2 WHERE seq = $3', [prevHash, hash, event.seq]);
      event.hash = hash;
    }
    prevHash = event.hash;
  }
}

export interface DownloadedExport {
  exportId: string;
  expectedEvents: number;
  body: Buffer;
  manifest: ExportManifest;
  /** The export and manifest written to a temporary directory, for the offline verifier. */
  files: { exportPath: string; manifestPath: string; dir: string };
}

/** POST /api/audit/exports as the SPA does, then fetches the manifest. */
export async function downloadExport(client: TestClient, format: ExportFormat, filter: AuditSearch = {}): Promise<DownloadedExport> {
  const response = await fetch(`${client.baseUrl}/api/audit/exports`, {
    method: 'POST',
    headers: { origin: client.origin, 'content-type': 'application/json', cookie: client.cookie ?? '' },
    body: JSON.stringify({ format, filter }),
  });
  if (response.status !== 200) throw new Error(`export answered ${response.status}: ${await response.text()}`);
  const body = Buffer.from(await response.arrayBuffer());
  const exportId = response.headers.get('x-argus-export-id')!;
  const manifestResponse = await client.get<ExportManifest>(`/api/audit/exports/${exportId}/manifest`);
  if (manifestResponse.status !== 200) throw new Error(`manifest answered ${manifestResponse.status}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'argus-export-'));
  const exportPath = path.join(dir, `export.${format}`);
  const manifestPath = path.join(dir, 'manifest.json');
  writeFileSync(exportPath, body);
  writeFileSync(manifestPath, JSON.stringify(manifestResponse.body, null, 2));
  return {
    exportId,
    expectedEvents: Number(response.headers.get('x-argus-export-events')),
    body,
    manifest: manifestResponse.body,
    files: { exportPath, manifestPath, dir },
  };
}

/**
 * A contiguous JSON Lines export of the whole chain and its signed manifest, as runExport
 * writes them, in a new folder under `dir`. `withCheckpoint`: the manifest names the latest
 * checkpoint in range, as a real export does; without it, none.
 */
export async function exportWholeChain(
  pool: Pool,
  signer: AuditSigner,
  dir: string,
  { withCheckpoint = true }: { withCheckpoint?: boolean } = {},
): Promise<{ exportPath: string; manifestPath: string }> {
  const exportDir = mkdtempSync(path.join(dir, 'export-'));
  const exportPath = path.join(exportDir, 'export.jsonl');
  const head = (await getAuditChainHead(pool))!;
  const sink = createWriteStream(exportPath);
  const summary = await streamAuditExport({ db: pool, sink, format: 'jsonl', where: { fromSeq: 1, toSeq: head.seq } });
  sink.end();
  await finished(sink);
  const manifest = signManifest(signer, {
    type: 'argus.audit.export-manifest',
    version: 1,
    exportId: '00000000-0000-4000-8000-00000000e0e1',
    format: 'jsonl',
    filter: { fromSeq: 1, toSeq: head.seq },
    contiguous: true,
    ...summary,
    exportedAt: new Date().toISOString(),
    exporter: { id: '00000000-0000-4000-8000-000000000001', username: 'vera' },
    checkpoint: withCheckpoint ? await getLatestCheckpoint(pool, { minSeq: 1, maxSeq: head.seq }) : null,
  });
  const manifestPath = path.join(exportDir, 'manifest.json');
  writeFileSync(manifestPath, JSON.stringify(manifest));
  return { exportPath, manifestPath };
}

/**
 * A standalone event (no target, a success of severity info: the common case) as
 * `appendAuditEvents` takes it, with its canonical JSON around the seq Postgres assigns.
 */
export function appendableEvent({ action, actorUsername = null, model = null, details }: { action: string; actorUsername?: string | null; model?: string | null; details: Record<string, unknown> }) {
  const event = {
    time: new Date().toISOString(),
    actorId: null,
    actorUsername,
    action,
    targetType: null,
    targetId: null,
    outcome: 'success' as const,
    severity: 'info' as const,
    ip: null,
    userAgent: null,
    model,
    details,
  };
  return { event, canonical: canonicalJsonAround({ ...event, seq: 0 }, 'seq') };
}
