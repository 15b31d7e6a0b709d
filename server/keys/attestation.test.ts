import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantResponse, KeyResponse, SecurityKeyView, SessionResponse } from '../../shared/api.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { searchAuditEvents } from '../db/audit.ts';
import { query } from '../db/pool.ts';
import {
  createEnrollee,
  enrollUser,
  errorCode,
  lastAudit,
  startTestNode,
  stepUpWith,
  type TestClient,
  type TestNode,
} from '../test/harness.ts';
import {
  createMdsSigner,
  createRootCa,
  createVendor,
  dateFromToday,
  metadataEntry,
  metadataFiles,
  registerWithAttestation,
  signMetadataBlob,
  type TestAttestation,
  type TestCertificate,
} from '../test/fidoFixtures.ts';
import type { SoftAuthenticator } from '../test/softAuthenticator.ts';
import { FidoMetadata } from '../webauthn/fidoMetadata.ts';
import { SYSTEM_CONTEXT } from '../audit/record.ts';
import { loadFidoMetadata } from './loadFidoMetadata.ts';
import { setKeyStatusAsAdmin } from './manageKeys.ts';
import { restrictedUnlockRefusal } from './hardwareKeyPolicy.ts';

/**
 * Attestation against FIDO metadata end to end (issue #22, threat-model G16): real Argus nodes
 * reading a test MDS blob signed under a test root (FIDO_MDS_ROOT_FILE replaces the shipped
 * FIDO root), and software authenticators whose packed and fido-u2f attestations are made with
 * test vendor CAs. Each guard has a test here that fails when it is removed.
 */
const MODEL = 'ee882879-721c-4913-9775-3dfcce97072a';
const DOOMED_MODEL = '73bb0cd4-e502-49b8-9c6f-b59445bf720b';
const PASSWORD = 'a kettle of fish at dawn';

let mds: { root: TestCertificate; signer: TestCertificate };
let vendor: { root: TestCertificate; attestation: TestCertificate };
let doomedVendor: { root: TestCertificate; attestation: TestCertificate };
let files: ReturnType<typeof metadataFiles>;
let node: TestNode;

function blob({ no = 1, doomed = false, nextUpdate = dateFromToday(30), reportDate = '2025-01-15' }: { no?: number; doomed?: boolean; nextUpdate?: string; reportDate?: string } = {}): string {
  return signMetadataBlob({
    signer: mds.signer,
    no,
    nextUpdate,
    entries: [
      metadataEntry({ aaguid: MODEL, roots: [vendor.root], description: 'Test Key 5 NFC' }),
      metadataEntry({
        aaguid: DOOMED_MODEL,
        roots: [doomedVendor.root],
        description: 'Test Key Doomed',
        statusReports: [
          { status: 'FIDO_CERTIFIED_L2', effectiveDate: '2023-05-01' },
          ...(doomed ? [{ status: 'USER_VERIFICATION_BYPASS', effectiveDate: reportDate }] : []),
        ],
      }),
    ],
  });
}

beforeAll(async () => {
  mds = await createMdsSigner();
  vendor = await createVendor(MODEL);
  doomedVendor = await createVendor(DOOMED_MODEL, 'Doomed Vendor');
  files = metadataFiles(mds.root);
  files.writeBlob(blob());
  node = await startTestNode({ SIGNIN_RATE_PER_MINUTE: '1000', FIDO_MDS_FILE: files.blobFile, FIDO_MDS_ROOT_FILE: files.rootFile, ATTESTATION_POLICY: 'restricted' });
});
afterAll(async () => {
  await node.destroy();
  rmSync(files.dir, { recursive: true, force: true });
});

type Options = { challenge: string };

/** Adds a key to a signed-in account, made by `makeResponse` over fresh options. */
async function addKey(client: TestClient, existing: SoftAuthenticator, makeResponse: (options: Options) => Record<string, unknown>) {
  await stepUpWith(client, existing);
  const { options } = (await client.post<{ options: Options }>('/api/account/keys/options')).body;
  return client.post<KeyResponse>('/api/account/keys', { response: makeResponse(options), nickname: 'Added key' });
}

/** Enrollment with a first key made by `makeResponse`: the answer to the key step, the signed-in client and its key. */
async function enrollWith(target: TestNode, username: string, makeResponse: (options: Options) => Record<string, unknown>) {
  const { token, user } = await createEnrollee(target, { username });
  const client = target.client();
  expect((await client.post(`/api/enrollment/${token}/password`, { password: PASSWORD })).status).toBe(200);
  const { options } = (await client.post<{ options: Options }>(`/api/enrollment/${token}/key/options`)).body;
  const response = await client.post(`/api/enrollment/${token}/key`, { response: makeResponse(options), nickname: `${username}'s key` });
  const key = response.status === 200 ? (await client.get<{ keys: SecurityKeyView[] }>('/api/account/keys')).body.keys[0] : undefined;
  return { response, client, userId: user.id, key };
}

async function unlock(client: TestClient, authenticator: SoftAuthenticator, credentialIndex = 0) {
  const options = await client.post<{ options: Options & { allowCredentials: Array<{ id: string }> } }>('/api/verify-key-ownership/options');
  if (options.status !== 200) return options;
  return client.post<GrantResponse>('/api/verify-key-ownership', {
    response: authenticator.assert(options.body.options, {}, authenticator.credentials[credentialIndex]),
    presenceMode: 'assertion',
  });
}

const packed = (certificate: TestCertificate, chain: TestCertificate[] = []): TestAttestation => ({ format: 'packed', x5c: [certificate, ...chain] });

describe('registration judged against FIDO metadata', () => {
  it('records a packed attestation that chains to its model’s metadata root as attested, with the certified AAGUID and level', async () => {
    const anna = await enrollUser(node, { username: 'anna', password: PASSWORD });
    const yubi = node.authenticator({ aaguid: MODEL });
    const added = await addKey(anna.client, anna.authenticator, (options) => registerWithAttestation(yubi, options, packed(vendor.attestation)));
    expect(added.status).toBe(201);
    expect(added.body.key).toMatchObject({ attestation: { attested: true, certifiedAaguid: MODEL, certificationLevel: 'FIDO_CERTIFIED_L1' } });
    expect((await lastAudit(node, 'key.registered'))?.details).toMatchObject({
      attestation: { format: 'packed', attested: true, certifiedAaguid: MODEL, certificationLevel: 'FIDO_CERTIFIED_L1' },
    });
    // The key enrolled with `none` attestation is listed, plainly unattested.
    const keys = (await anna.client.get<{ keys: SecurityKeyView[] }>('/api/account/keys')).body.keys;
    expect(keys.map((key) => key.attestation)).toEqual([
      { attested: false, certifiedAaguid: null, certificationLevel: null },
      { attested: true, certifiedAaguid: MODEL, certificationLevel: 'FIDO_CERTIFIED_L1' },
    ]);
  });

  it('refuses a packed attestation whose signature is forged, whatever the policy: nothing is registered', async () => {
    const boris = await enrollUser(node, { username: 'boris', password: PASSWORD });
    const forged = await addKey(boris.client, boris.authenticator, (options) =>
      registerWithAttestation(node.authenticator({ aaguid: MODEL }), options, { format: 'packed', x5c: [vendor.attestation], badSignature: true }),
    );
    expect(forged.status).toBe(400);
    expect(errorCode(forged)).toBe('WEBAUTHN_FAILED');
    const { rows } = await query<{ n: number }>(node.deps.pool, 't', 'SELECT count(*)::int AS n FROM security_key WHERE user_id = $1', [boris.userId]);
    expect(rows[0]!.n).toBe(1);
  });

  it('registers a self attestation, a self-signed certificate and one from a root not in the statement as unattested', async () => {
    const carla = await enrollUser(node, { username: 'carla', password: PASSWORD });
    const selfSigned = await createRootCa('C=SE, O=Nobody, OU=Authenticator Attestation, CN=Self Signed', { ca: false });
    const otherVendor = await createVendor(MODEL, 'Other Vendor');
    const cases: Array<[TestAttestation, string]> = [
      [{ format: 'packed-self' }, 'self'],
      [packed(selfSigned), 'untrusted_chain'],
      // A genuine chain, but to a root the model's statement does not list.
      [packed(otherVendor.attestation, [otherVendor.root]), 'untrusted_chain'],
    ];
    for (const [attestation, reason] of cases) {
      const added = await addKey(carla.client, carla.authenticator, (options) => registerWithAttestation(node.authenticator({ aaguid: MODEL }), options, attestation));
      expect(added.status, reason).toBe(201);
      expect(added.body.key.attestation).toEqual({ attested: false, certifiedAaguid: null, certificationLevel: null });
      expect((await lastAudit(node, 'key.registered'))?.details).toMatchObject({ attestation: { attested: false, reason } });
    }
  });

  it('under ATTESTATION_POLICY=all, refuses every unattested key with KEY_NOT_ATTESTED, at enrollment too, and takes an attested one', async () => {
    const strictFiles = metadataFiles(mds.root);
    strictFiles.writeBlob(blob());
    const strict = await startTestNode({ FIDO_MDS_FILE: strictFiles.blobFile, FIDO_MDS_ROOT_FILE: strictFiles.rootFile, ATTESTATION_POLICY: 'all' });
    try {
      const selfSigned = await createRootCa('C=SE, O=Nobody, OU=Authenticator Attestation, CN=Self Signed', { ca: false });
      const otherVendor = await createVendor(MODEL, 'Other Vendor');
      const unattested: Array<[string, (options: Options) => Record<string, unknown>]> = [
        ['none', (options) => strict.authenticator({ aaguid: MODEL }).register(options)],
        ['self', (options) => registerWithAttestation(strict.authenticator({ aaguid: MODEL }), options, { format: 'packed-self' })],
        ['self-signed', (options) => registerWithAttestation(strict.authenticator({ aaguid: MODEL }), options, packed(selfSigned))],
        ['other root', (options) => registerWithAttestation(strict.authenticator({ aaguid: MODEL }), options, packed(otherVendor.attestation))],
      ];
      for (const [name, makeResponse] of unattested) {
        const { response } = await enrollWith(strict, `refused-${name.replace(' ', '-')}`, makeResponse);
        expect(response.status, name).toBe(403);
        expect(errorCode(response), name).toBe('KEY_NOT_ATTESTED');
        expect((response.body as unknown as { error: { message: string } }).error.message).toMatch(/FIDO Metadata Service/);
      }
      expect((await lastAudit(strict, 'webauthn.registration_failed'))?.details).toMatchObject({ reason: 'not_attested', attestation: { attested: false } });
      const dora = await enrollWith(strict, 'dora', (options) => registerWithAttestation(strict.authenticator({ aaguid: MODEL }), options, packed(vendor.attestation)));
      expect(dora.response.status).toBe(200);
      expect(dora.key?.attestation).toMatchObject({ attested: true, certifiedAaguid: MODEL });
    } finally {
      await strict.destroy();
      rmSync(strictFiles.dir, { recursive: true, force: true });
    }
  });
});

describe('ATTESTATION_POLICY=restricted', () => {
  it('lets only an attested key unlock a restricted model', async () => {
    const emil = await enrollUser(node, { username: 'emil', password: PASSWORD });
    // Only the unattested key: no key is offered for the unlock at all.
    const none = await unlock(emil.client, emil.authenticator);
    expect(none.status).toBe(403);
    expect(errorCode(none)).toBe('HARDWARE_KEY_REQUIRED');

    const yubi = node.authenticator({ aaguid: MODEL });
    expect((await addKey(emil.client, emil.authenticator, (options) => registerWithAttestation(yubi, options, packed(vendor.attestation)))).status).toBe(201);
    // The unattested key answers options made for the attested one: the unlock itself refuses it.
    const refused = await unlock(emil.client, emil.authenticator);
    expect(refused.status).toBe(403);
    expect(errorCode(refused)).toBe('KEY_NOT_ATTESTED');
    expect((await lastAudit(node, 'grant.denied'))?.details).toMatchObject({ reason: 'not_attested' });
    // The attested key unlocks.
    const granted = await unlock(emil.client, yubi);
    expect(granted.status).toBe(200);
    expect((granted.body as GrantResponse).grant?.models).toContain('demo-restricted');
  });

  it('counts only the certified AAGUID against GRANT_AAGUID_ALLOWLIST, never the claimed one', () => {
    const config = { attestation: { policy: 'restricted' as const, mdsFile: 'x', mdsRootsPem: [] }, grants: { ...node.deps.config.grants, aaguidAllowList: [MODEL] } };
    expect(restrictedUnlockRefusal(config, { aaguid: MODEL, attested: true, certified_aaguid: MODEL })).toBeNull();
    // Claims the allowed model but proved nothing, or proved another model.
    expect(restrictedUnlockRefusal(config, { aaguid: MODEL, attested: false, certified_aaguid: null })).toBe('not_attested');
    expect(restrictedUnlockRefusal(config, { aaguid: MODEL, attested: true, certified_aaguid: null })).toBe('aaguid_not_allowed');
    // With the policy off, the allow-list reads the claimed AAGUID, as before.
    const off = { ...config, attestation: { ...config.attestation, policy: 'off' as const } };
    expect(restrictedUnlockRefusal(off, { aaguid: MODEL, attested: false, certified_aaguid: null })).toBeNull();
    expect(restrictedUnlockRefusal(off, { aaguid: DOOMED_MODEL, attested: false, certified_aaguid: null })).toBe('aaguid_not_allowed');
  });
});

describe('reloading the metadata', () => {
  it('suspends the keys of a model reported compromised on SIGHUP: a critical event each, their grants and sessions end', async () => {
    // Felix proved the doomed model; Greta's software key only claims it; Hugo's key is another model.
    const felixKey = node.authenticator({ aaguid: DOOMED_MODEL });
    const felix = await enrollWith(node, 'felix', (options) => registerWithAttestation(felixKey, options, packed(doomedVendor.attestation)));
    expect(felix.response.status).toBe(200);
    expect(felix.key?.attestation).toMatchObject({ attested: true, certificationLevel: 'FIDO_CERTIFIED_L2' });
    const greta = await enrollUser(node, { username: 'greta', password: PASSWORD, authenticator: node.authenticator({ aaguid: DOOMED_MODEL }) });
    const hugo = await enrollUser(node, { username: 'hugo', password: PASSWORD });
    expect((await unlock(felix.client, felixKey)).status).toBe(200);
    const felixKeyId = felix.key!.id;

    files.writeBlob(blob({ no: 2, doomed: true }));
    process.emit('SIGHUP', 'SIGHUP');
    const statusOf = async (keyId: string) =>
      (await query<{ status: string; status_reason: string | null }>(node.deps.pool, 't', 'SELECT status, status_reason FROM security_key WHERE id = $1', [keyId])).rows[0]!;
    await expect.poll(async () => (await statusOf(greta.keyId)).status, { timeout: 10_000 }).toBe('suspended');
    await expect.poll(async () => (await statusOf(felixKeyId)).status, { timeout: 10_000 }).toBe('suspended');
    expect((await statusOf(felixKeyId)).status_reason).toMatch(/FIDO metadata \(blob no\. 2\) reports USER_VERIFICATION_BYPASS for Test Key Doomed/);
    expect((await statusOf(hugo.keyId)).status).toBe('active');

    const events = await searchAuditEvents(node.deps.pool, { action: 'key.model_compromised' }, { limit: 10 });
    expect(events.map((event) => event.targetId).sort()).toEqual([felixKeyId, greta.keyId].sort());
    for (const event of events) expect(event).toMatchObject({ severity: 'critical', details: { status: 'USER_VERIFICATION_BYPASS', blobNo: 2 } });
    // Felix's grant ended with the key, and so did the sessions it signed in.
    expect(await node.deps.grants.forSession(decodeURIComponent(felix.client.sessionId!).slice(2).split('.')[0]!)).toBeNull();
    expect((await lastAudit(node, 'grant.revoked'))?.details).toMatchObject({ reason: 'key_suspended' });
    expect((await felix.client.get<SessionResponse>('/api/session')).body.signedIn).toBe(false);
    expect((await greta.client.get<SessionResponse>('/api/session')).body.signedIn).toBe(false);
    expect((await hugo.client.get<SessionResponse>('/api/session')).body.signedIn).toBe(true);

    // A second load of the same news suspends nothing twice; the model cannot be registered any more.
    expect(await loadFidoMetadata(node.deps)).toMatchObject({ loaded: true, no: 2, keysSuspended: 0 });
    expect(await searchAuditEvents(node.deps.pool, { action: 'key.model_compromised' }, { limit: 10 })).toHaveLength(2);
    const again = await addKey(hugo.client, hugo.authenticator, (options) => registerWithAttestation(node.authenticator({ aaguid: DOOMED_MODEL }), options, packed(doomedVendor.attestation)));
    expect(again.status).toBe(403);
    expect(errorCode(again)).toBe('KEY_MODEL_COMPROMISED');

    // An admin who reactivates Greta's key accepts that report: loads leave it be, until a newer report.
    expect(await setKeyStatusAsAdmin(node.deps, { keyId: greta.keyId, status: 'active', reason: 'UV is not used here', context: SYSTEM_CONTEXT })).toMatchObject({ changed: true });
    expect(await loadFidoMetadata(node.deps)).toMatchObject({ loaded: true, keysSuspended: 0 });
    expect((await statusOf(greta.keyId)).status).toBe('active');
    files.writeBlob(blob({ no: 3, doomed: true, reportDate: '2025-06-01' }));
    expect(await loadFidoMetadata(node.deps)).toMatchObject({ loaded: true, keysSuspended: 1 });
    expect((await statusOf(greta.keyId)).status).toBe('suspended');
  });

  it('refuses a blob with a bad signature, one past nextUpdate, and an older one, keeping the metadata it has and saying so on /readyz', async () => {
    const loadedNo = node.deps.fidoMetadata.current!.no;
    const refusals: Array<[string, string]> = [
      [signMetadataBlob({ signer: mds.signer, no: loadedNo + 1, entries: [], badSignature: true }), 'MDS_SIGNATURE_INVALID'],
      [blob({ no: loadedNo + 1, nextUpdate: dateFromToday(-1) }), 'MDS_EXPIRED'],
      [blob({ no: loadedNo - 1 }), 'MDS_OLDER_THAN_LOADED'],
      ['not a blob', 'MDS_MALFORMED'],
    ];
    for (const [jwt, code] of refusals) {
      files.writeBlob(jwt);
      expect(await loadFidoMetadata(node.deps)).toMatchObject({ loaded: false, error: code, kept: { no: loadedNo } });
      expect(node.deps.fidoMetadata.current!.no).toBe(loadedNo);
      expect(node.deps.fidoMetadata.statementForAaguid(MODEL)).not.toBeNull();
      const ready = (await (await fetch(`${node.url}/readyz`)).json()) as { details: { fidoMetadata: unknown } };
      expect(ready.details.fidoMetadata).toMatchObject({ status: 'loaded', no: loadedNo, lastError: { code } });
    }
    files.writeBlob(blob({ no: loadedNo + 1, doomed: true }));
    expect(await loadFidoMetadata(node.deps)).toMatchObject({ loaded: true, no: loadedNo + 1 });
    expect(node.deps.fidoMetadata.summary()).toMatchObject({ status: 'loaded', lastError: null });
  });

  it('starts without metadata when the blob does not verify, and says so; a node without FIDO_MDS_FILE reports it off', async () => {
    const badFiles = metadataFiles(mds.root);
    badFiles.writeBlob(blob({ nextUpdate: dateFromToday(-3) }));
    const stale = await startTestNode({ FIDO_MDS_FILE: badFiles.blobFile, FIDO_MDS_ROOT_FILE: badFiles.rootFile, ATTESTATION_POLICY: 'off' });
    try {
      const ready = await fetch(`${stale.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { details: { fidoMetadata: unknown } }).details.fidoMetadata).toMatchObject({ status: 'not_loaded', lastError: { code: 'MDS_EXPIRED' } });
    } finally {
      await stale.destroy();
      rmSync(badFiles.dir, { recursive: true, force: true });
    }
    expect(new FidoMetadata(false).summary()).toEqual({ status: 'off' });
  });
});

describe('configuration', () => {
  const base = { SESSION_SECRET: 'x'.repeat(32), ARGUS_DATA_DIR: '/tmp/argus-config-test' };

  it('refuses ATTESTATION_POLICY restricted or all without FIDO_MDS_FILE, and defaults to restricted with one', () => {
    for (const policy of ['restricted', 'all']) {
      expect(() => loadConfig({ ...base, ATTESTATION_POLICY: policy })).toThrow(ConfigError);
      expect(() => loadConfig({ ...base, ATTESTATION_POLICY: policy })).toThrow(/ATTESTATION_POLICY: .* needs FIDO_MDS_FILE/);
    }
    expect(loadConfig(base).attestation).toMatchObject({ policy: 'off', mdsFile: null });
    expect(loadConfig({ ...base, FIDO_MDS_FILE: files.blobFile }).attestation.policy).toBe('restricted');
    // The shipped roots: GlobalSign Root CA - R3 and Root R46 (server/webauthn/fido-mds-roots.pem).
    expect(loadConfig(base).attestation.mdsRootsPem).toHaveLength(2);
    expect(() => loadConfig({ ...base, FIDO_MDS_ROOT_FILE: files.blobFile })).toThrow(/FIDO_MDS_ROOT_FILE: .* holds no PEM certificate/);
  });
});
