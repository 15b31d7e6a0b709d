import { query, type Queryable } from './pool.ts';
import type { KeyRow } from './keys.ts';

export interface DetectorRow {
  id: string;
  user_id: string;
  owner_username: string;
  key_id: string;
  key_hash: string;
  name: string;
  created_at: Date;
  /** created_at with microseconds, for keyset cursors. */
  created_cursor: string;
  last_seen_at: Date | null;
  revoked_at: Date | null;
}

const SELECT = `SELECT d.id, d.user_id, u.username AS owner_username, d.key_id, d.key_hash, d.name, d.created_at,
  d.last_seen_at, d.revoked_at, to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_cursor
  FROM detector d JOIN app_user u ON u.id = d.user_id`;

// ── Pairing codes ────────────────────────────────────────────────────────────────────

export async function insertPairingCode(db: Queryable, code: { codeHash: Buffer; userId: string; ttlSeconds: number }): Promise<Date> {
  const { rows } = await query<{ expires_at: Date }>(
    db,
    'pairing_code_insert',
    `INSERT INTO detector_pairing_code (code_hash, user_id, expires_at)
     VALUES ($1::bytea, $2::uuid, now() + make_interval(secs => $3::int))
     RETURNING expires_at`,
    [code.codeHash, code.userId, code.ttlSeconds],
  );
  return rows[0]!.expires_at;
}

/** Uses a code once: only an unused, unexpired code answers, and only the first time. */
export async function consumePairingCode(db: Queryable, codeHash: Buffer): Promise<string | null> {
  const { rows } = await query<{ user_id: string }>(
    db,
    'pairing_code_consume',
    `UPDATE detector_pairing_code SET used_at = now()
     WHERE code_hash = $1::bytea AND used_at IS NULL AND expires_at > now()
     RETURNING user_id`,
    [codeHash],
  );
  return rows[0]?.user_id ?? null;
}

/** Why a code did not work, for the audit record only (the caller answers the same either way). */
export async function pairingCodeState(db: Queryable, codeHash: Buffer): Promise<'unknown' | 'used' | 'expired'> {
  const { rows } = await query<{ used: boolean }>(
    db,
    'pairing_code_state',
    'SELECT used_at IS NOT NULL AS used FROM detector_pairing_code WHERE code_hash = $1::bytea',
    [codeHash],
  );
  if (!rows[0]) return 'unknown';
  return rows[0].used ? 'used' : 'expired';
}

// ── Detectors ────────────────────────────────────────────────────────────────────────

export async function insertDetector(db: Queryable, detector: { userId: string; keyId: string; keyHash: string; name: string }): Promise<DetectorRow> {
  const { rows } = await query<{ id: string }>(
    db,
    'detector_insert',
    `INSERT INTO detector (user_id, key_id, key_hash, name) VALUES ($1::uuid, $2::text, $3::text, $4::text) RETURNING id`,
    [detector.userId, detector.keyId, detector.keyHash, detector.name],
  );
  return (await getDetectorById(db, rows[0]!.id))!;
}

export async function getDetectorById(db: Queryable, id: string): Promise<DetectorRow | null> {
  const { rows } = await query<DetectorRow>(db, 'detector_by_id', `${SELECT} WHERE d.id = $1::uuid`, [id]);
  return rows[0] ?? null;
}

/** The handshake's lookup: a live (unrevoked) detector of an active user, by its non-secret key id. */
export async function getLiveDetectorByKeyId(db: Queryable, keyId: string): Promise<DetectorRow | null> {
  const { rows } = await query<DetectorRow>(
    db,
    'detector_by_key_id',
    `${SELECT} WHERE d.key_id = $1::text AND d.revoked_at IS NULL AND u.status = 'active'`,
    [keyId],
  );
  return rows[0] ?? null;
}

export async function getLiveDetectorsForUser(db: Queryable, userId: string): Promise<DetectorRow[]> {
  const { rows } = await query<DetectorRow>(
    db,
    'detectors_for_user',
    `${SELECT} WHERE d.user_id = $1::uuid AND d.revoked_at IS NULL ORDER BY d.created_at, d.id`,
    [userId],
  );
  return rows;
}

/** Every live detector, a keyset page ordered by creation. */
export async function listLiveDetectors(db: Queryable, filter: { after?: { at: string; id: string } | undefined; limit: number }): Promise<DetectorRow[]> {
  const { rows } = await query<DetectorRow>(
    db,
    'detectors_list',
    `${SELECT}
     WHERE d.revoked_at IS NULL
       AND ($1::timestamptz IS NULL OR (d.created_at, d.id) > ($1::timestamptz, $2::uuid))
     ORDER BY d.created_at, d.id
     LIMIT $3::int`,
    [filter.after?.at ?? null, filter.after?.id ?? null, filter.limit],
  );
  return rows;
}

/** Revokes once: null when there was no live detector with this id (and owner, if given). */
export async function revokeDetector(db: Queryable, { id, ownerId, revokedBy }: { id: string; ownerId: string | null; revokedBy: string | null }): Promise<DetectorRow | null> {
  const { rows } = await query<{ id: string }>(
    db,
    'detector_revoke',
    `UPDATE detector SET revoked_at = now(), revoked_by = $3::uuid
     WHERE id = $1::uuid AND revoked_at IS NULL AND ($2::uuid IS NULL OR user_id = $2::uuid)
     RETURNING id`,
    [id, ownerId, revokedBy],
  );
  return rows[0] ? getDetectorById(db, rows[0].id) : null;
}

export async function touchDetector(db: Queryable, id: string): Promise<void> {
  await query(db, 'detector_touch', 'UPDATE detector SET last_seen_at = now() WHERE id = $1::uuid', [id]);
}

// ── Serial numbers bound to credentials (security_key.hid_serial) ─────────────────────

export interface BoundCredential {
  id: string;
  user_id: string;
  nickname: string;
  hid_serial: string | null;
}

/** Credentials bound to a HID serial number (several if detectors disagreed). */
export async function getCredentialsBySerial(db: Queryable, serial: string): Promise<BoundCredential[]> {
  const { rows } = await query<BoundCredential>(
    db,
    'keys_by_serial',
    'SELECT id, user_id, nickname, hid_serial FROM security_key WHERE hid_serial = $1::text',
    [serial],
  );
  return rows;
}

/** A user's credentials (any status) whose serial no detector has bound yet, with what tells a synced passkey (isSynced). */
export async function getUnboundCredentials(db: Queryable, userId: string): Promise<Array<Pick<KeyRow, 'id' | 'device_type' | 'backed_up'>>> {
  const { rows } = await query<Pick<KeyRow, 'id' | 'device_type' | 'backed_up'>>(
    db,
    'keys_unbound_for_user',
    'SELECT id, device_type, backed_up FROM security_key WHERE user_id = $1::uuid AND hid_serial IS NULL ORDER BY created_at, id',
    [userId],
  );
  return rows;
}

export async function getCredentialSerial(db: Queryable, keyId: string): Promise<string | null> {
  const { rows } = await query<{ hid_serial: string | null }>(db, 'key_serial', 'SELECT hid_serial FROM security_key WHERE id = $1::uuid', [keyId]);
  return rows[0]?.hid_serial ?? null;
}

export async function bindCredentialSerial(db: Queryable, keyId: string, serial: string): Promise<void> {
  await query(db, 'key_bind_serial', 'UPDATE security_key SET hid_serial = $2::text WHERE id = $1::uuid', [keyId, serial]);
}
