import type { HidDeviceInfo, KeyStatus, SecurityKeyView } from '../../shared/api.ts';
import { query, type Queryable } from './pool.ts';

export interface KeyRow {
  id: string;
  user_id: string;
  owner_username: string;
  credential_id: Buffer;
  public_key: Buffer;
  sign_count: string;
  transports: string[];
  aaguid: string;
  model_name: string;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  nickname: string;
  hid_vendor_id: number | null;
  hid_product_id: number | null;
  hid_product_name: string | null;
  status: KeyStatus;
  status_reason: string | null;
  /** The registration's attestation chained to the model's FIDO metadata roots (sql/000018). */
  attested: boolean;
  certified_aaguid: string | null;
  attestation_key_id: string | null;
  certification_level: string | null;
  /** The metadata compromise report (STATUS@date) the key was last suspended for, if any. */
  compromise_report: string | null;
  created_at: Date;
  /** created_at with microseconds, for keyset cursors (a JS Date keeps only milliseconds). */
  created_cursor: string;
  last_used_at: Date | null;
}

const SELECT = `SELECT k.id, k.user_id, u.username AS owner_username, k.credential_id, k.public_key, k.sign_count,
  k.transports, k.aaguid, k.model_name, k.device_type, k.backed_up, k.nickname, k.hid_vendor_id, k.hid_product_id,
  k.hid_product_name, k.status, k.status_reason, k.attested, k.certified_aaguid, k.attestation_key_id, k.certification_level,
  k.compromise_report, k.created_at, k.last_used_at,
  to_char(k.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_cursor
  FROM security_key k JOIN app_user u ON u.id = k.user_id`;

/** A synced or backed-up credential is a passkey, not a hardware key (docs/architecture.md invariant 7). */
export function isSynced(key: Pick<KeyRow, 'device_type' | 'backed_up'>): boolean {
  return key.device_type === 'multiDevice' || key.backed_up;
}

/** The public encoder for keys: no public key, no credential id. */
export function toKeyView(row: KeyRow): SecurityKeyView {
  return {
    id: row.id,
    ownerId: row.user_id,
    ownerUsername: row.owner_username,
    nickname: row.nickname,
    modelName: row.model_name,
    aaguid: row.aaguid,
    synced: isSynced(row),
    transports: row.transports,
    status: row.status,
    statusReason: row.status_reason,
    attestation: { attested: row.attested, certifiedAaguid: row.certified_aaguid, certificationLevel: row.certification_level },
    signCount: Number(row.sign_count),
    hid:
      row.hid_vendor_id !== null && row.hid_product_id !== null
        ? { vendorId: row.hid_vendor_id, productId: row.hid_product_id, productName: row.hid_product_name ?? '' }
        : null,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}

export async function getKeyByCredentialId(db: Queryable, credentialId: Buffer, lock = false): Promise<KeyRow | null> {
  const { rows } = await query<KeyRow>(
    db,
    lock ? 'key_lock_by_credential' : 'key_by_credential',
    `${SELECT} WHERE k.credential_id = $1::bytea ${lock ? 'FOR UPDATE OF k' : ''}`,
    [credentialId],
    // Every key step (sign-in, step-up, unlock) runs it: parsed and planned once per connection.
    { prepare: true },
  );
  return rows[0] ?? null;
}

export async function getKeyById(db: Queryable, id: string, lock = false): Promise<KeyRow | null> {
  const { rows } = await query<KeyRow>(db, lock ? 'key_lock' : 'key_by_id', `${SELECT} WHERE k.id = $1::uuid ${lock ? 'FOR UPDATE OF k' : ''}`, [id]);
  return rows[0] ?? null;
}

export async function getKeysForUser(db: Queryable, userId: string): Promise<KeyRow[]> {
  const { rows } = await query<KeyRow>(db, 'keys_for_user', `${SELECT} WHERE k.user_id = $1::uuid ORDER BY k.created_at, k.id`, [userId]);
  return rows;
}

export async function getActiveKeysForUser(db: Queryable, userId: string): Promise<KeyRow[]> {
  const { rows } = await query<KeyRow>(
    db,
    'active_keys_for_user',
    `${SELECT} WHERE k.user_id = $1::uuid AND k.status = 'active' ORDER BY k.created_at, k.id`,
    [userId],
    // Every key step's options: parsed and planned once per connection.
    { prepare: true },
  );
  return rows;
}

export async function countActiveKeysForUser(db: Queryable, userId: string): Promise<number> {
  const { rows } = await query<{ n: number }>(
    db,
    'count_active_keys',
    `SELECT count(*)::int AS n FROM security_key WHERE user_id = $1::uuid AND status = 'active'`,
    [userId],
  );
  return rows[0]!.n;
}

export interface NewKey {
  userId: string;
  credentialId: Buffer;
  publicKey: Buffer;
  signCount: number;
  transports: string[];
  aaguid: string;
  modelName: string;
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  nickname: string;
  hid: HidDeviceInfo | null;
  /** What the attestation proved against FIDO metadata; unattested keys carry nulls. */
  attestation: { attested: boolean; certifiedAaguid: string | null; attestationKeyId: string | null; certificationLevel: string | null };
}

export async function insertKey(db: Queryable, key: NewKey): Promise<KeyRow> {
  const { rows } = await query<{ id: string }>(
    db,
    'key_insert',
    `INSERT INTO security_key (user_id, credential_id, public_key, sign_count, transports, aaguid, model_name, device_type,
       backed_up, nickname, hid_vendor_id, hid_product_id, hid_product_name, attested, certified_aaguid, attestation_key_id,
       certification_level)
     VALUES ($1::uuid, $2::bytea, $3::bytea, $4::bigint, $5::text[], $6::uuid, $7::text, $8::text, $9::boolean, $10::text,
       $11::int, $12::int, $13::text, $14::boolean, $15::uuid, $16::text, $17::text)
     RETURNING id`,
    [
      key.userId,
      key.credentialId,
      key.publicKey,
      key.signCount,
      key.transports,
      key.aaguid,
      key.modelName,
      key.deviceType,
      key.backedUp,
      key.nickname,
      key.hid?.vendorId ?? null,
      key.hid?.productId ?? null,
      key.hid?.productName ?? null,
      key.attestation.attested,
      key.attestation.certifiedAaguid,
      key.attestation.attestationKeyId,
      key.attestation.certificationLevel,
    ],
  );
  return (await getKeyById(db, rows[0]!.id))!;
}

/** After a verified assertion: the new counter and the time of use. */
export async function recordKeyUse(db: Queryable, id: string, signCount: number): Promise<void> {
  await query(db, 'key_record_use', 'UPDATE security_key SET sign_count = $2::bigint, last_used_at = now() WHERE id = $1::uuid', [id, signCount], { prepare: true });
}

/**
 * After a verified assertion judged on `key` as read without a lock: the new counter and the
 * time of use, written only if the row still has the owner, the active status and the counter
 * that were judged (the UPDATE takes the row lock and compares under it). False: the row
 * changed meanwhile (or is gone), nothing was written, and the caller decides again on the row locked.
 */
export async function recordKeyUseIfUnchanged(db: Queryable, key: Pick<KeyRow, 'id' | 'sign_count'>, use: { userId: string; signCount: number }): Promise<boolean> {
  const { rowCount } = await query(
    db,
    'key_record_use_if_unchanged',
    `UPDATE security_key SET sign_count = $2::bigint, last_used_at = now()
      WHERE id = $1::uuid AND sign_count = $3::bigint AND user_id = $4::uuid AND status = 'active'`,
    [key.id, use.signCount, key.sign_count, use.userId],
    { prepare: true },
  );
  return rowCount === 1;
}

export async function setKeyStatus(db: Queryable, id: string, status: KeyStatus, reason: string | null): Promise<void> {
  await query(db, 'key_set_status', 'UPDATE security_key SET status = $2::text, status_reason = $3::text WHERE id = $1::uuid', [
    id,
    status,
    reason,
  ]);
}

/**
 * Keys of the given models not yet suspended: by claimed AAGUID (a key claiming a compromised
 * model is suspended whether or not it proved it), or by U2F attestation key identifier.
 */
export async function getUnsuspendedKeysOfModels(db: Queryable, models: { aaguids: readonly string[]; attestationKeyIds: readonly string[] }): Promise<KeyRow[]> {
  if (models.aaguids.length === 0 && models.attestationKeyIds.length === 0) return [];
  const { rows } = await query<KeyRow>(
    db,
    'keys_of_models',
    `${SELECT} WHERE k.status <> 'suspended' AND (k.aaguid = ANY($1::uuid[]) OR k.attestation_key_id = ANY($2::text[])) ORDER BY k.created_at, k.id`,
    [models.aaguids, models.attestationKeyIds],
  );
  return rows;
}

/** Suspends a key for a metadata compromise report, remembering which report (see compromise_report). */
export async function suspendKeyForReport(db: Queryable, id: string, reason: string, report: string): Promise<void> {
  await query(db, 'key_suspend_for_report', "UPDATE security_key SET status = 'suspended', status_reason = $2::text, compromise_report = $3::text WHERE id = $1::uuid", [id, reason, report]);
}

export async function renameKey(db: Queryable, id: string, nickname: string): Promise<void> {
  await query(db, 'key_rename', 'UPDATE security_key SET nickname = $2::text WHERE id = $1::uuid', [id, nickname]);
}

export async function reassignKey(db: Queryable, id: string, userId: string): Promise<void> {
  await query(db, 'key_reassign', 'UPDATE security_key SET user_id = $2::uuid WHERE id = $1::uuid', [id, userId]);
}

export async function deleteKey(db: Queryable, id: string): Promise<void> {
  await query(db, 'key_delete', 'DELETE FROM security_key WHERE id = $1::uuid', [id]);
}

export interface KeyFilter {
  /** Exactly this key (links from the audit log carry ids). */
  id?: string | undefined;
  userId?: string | undefined;
  status?: KeyStatus | undefined;
  /** Keyset cursor: created_at and id of the last row of the previous page. */
  after?: { at: string; id: string } | undefined;
  limit: number;
}

export async function listKeys(db: Queryable, filter: KeyFilter): Promise<KeyRow[]> {
  const { rows } = await query<KeyRow>(
    db,
    'keys_list',
    `${SELECT}
     WHERE ($1::uuid IS NULL OR k.user_id = $1::uuid)
       AND ($2::text IS NULL OR k.status = $2::text)
       AND ($3::timestamptz IS NULL OR (k.created_at, k.id) > ($3::timestamptz, $4::uuid))
       AND ($6::uuid IS NULL OR k.id = $6::uuid)
     ORDER BY k.created_at, k.id
     LIMIT $5::int`,
    [filter.userId ?? null, filter.status ?? null, filter.after?.at ?? null, filter.after?.id ?? null, filter.limit, filter.id ?? null],
  );
  return rows;
}

/** Key nicknames by id, for lists that hold only ids (live sessions). */
export async function getKeyNicknamesByIds(db: Queryable, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await query<{ id: string; nickname: string }>(db, 'key_nicknames_by_ids', 'SELECT id, nickname FROM security_key WHERE id = ANY($1::uuid[])', [ids]);
  return new Map(rows.map((row) => [row.id, row.nickname]));
}
