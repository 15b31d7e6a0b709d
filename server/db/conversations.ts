import type { MessageStatus } from '../../shared/api.ts';
import { query, type Queryable } from './pool.ts';

/**
 * A conversation as stored. Restricted ones (`restricted_models` not empty) are encrypted
 * (`wrapped_dek` set): `title` is then NULL and the title is in `title_ct`
 * (server/crypto/dataKeys.ts). A restricted row still in plaintext waits for the encryption job
 * (sql/000023) and is gated all the same.
 */
export interface ConversationRow {
  id: string;
  title: string | null;
  title_ct: Buffer | null;
  model_id: string;
  restricted_models: string[];
  wrapped_dek: Buffer | null;
  kek_id: string | null;
  created_at: Date;
  updated_at: Date;
  updated_cursor: string;
}

/** A message as stored: `content` in plaintext, or `content_ct` in an encrypted conversation. */
export interface MessageRow {
  id: string;
  role: 'user' | 'assistant';
  content: string | null;
  content_ct: Buffer | null;
  model_id: string | null;
  status: MessageStatus;
  note: string | null;
  created_at: Date;
}

/** A message's content as it is to be stored: text, or its ciphertext. */
export type StoredContent = { content: string } | { contentCt: Buffer };

const CONVERSATION = `id, title, title_ct, model_id, restricted_models, wrapped_dek, kek_id, created_at, updated_at,
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_cursor`;
const MESSAGE = 'id, role, content, content_ct, model_id, status, note, created_at';

const contentOf = (stored: StoredContent) => ('content' in stored ? [stored.content, null] : [null, stored.contentCt]);

/** A standard conversation (plaintext title). */
export async function insertConversation(db: Queryable, c: { userId: string; title: string; modelId: string }): Promise<ConversationRow> {
  const { rows } = await query<ConversationRow>(
    db,
    'conversation_insert',
    `INSERT INTO conversation (user_id, title, model_id) VALUES ($1::uuid, $2::text, $3::text) RETURNING ${CONVERSATION}`,
    [c.userId, c.title, c.modelId],
  );
  return rows[0]!;
}

/** A conversation restricted from the start: its id is chosen first, since its ciphertexts are bound to it. */
export async function insertEncryptedConversation(
  db: Queryable,
  c: { id: string; userId: string; titleCt: Buffer; modelId: string; restrictedModels: string[]; wrappedDek: Buffer; kekId: string },
): Promise<ConversationRow> {
  const { rows } = await query<ConversationRow>(
    db,
    'conversation_insert_encrypted',
    `INSERT INTO conversation (id, user_id, title, title_ct, model_id, restricted_models, wrapped_dek, kek_id)
     VALUES ($1::uuid, $2::uuid, NULL, $3::bytea, $4::text, $5::text[], $6::bytea, $7::text) RETURNING ${CONVERSATION}`,
    [c.id, c.userId, c.titleCt, c.modelId, c.restrictedModels, c.wrappedDek, c.kekId],
  );
  return rows[0]!;
}

/** A conversation of this user only: someone else's id finds nothing. `forUpdate` locks it (restricting it). */
export async function getConversation(db: Queryable, userId: string, id: string, { forUpdate = false } = {}): Promise<ConversationRow | null> {
  const { rows } = await query<ConversationRow>(
    db,
    forUpdate ? 'conversation_get_for_update' : 'conversation_get',
    `SELECT ${CONVERSATION} FROM conversation WHERE id = $1::uuid AND user_id = $2::uuid${forUpdate ? ' FOR UPDATE' : ''}`,
    [id, userId],
  );
  return rows[0] ?? null;
}

export async function listConversations(db: Queryable, userId: string, after: { at: string; id: string } | undefined, limit: number): Promise<ConversationRow[]> {
  const { rows } = await query<ConversationRow>(
    db,
    'conversation_list',
    `SELECT ${CONVERSATION} FROM conversation
     WHERE user_id = $1::uuid AND ($2::timestamptz IS NULL OR (updated_at, id) < ($2::timestamptz, $3::uuid))
     ORDER BY updated_at DESC, id DESC LIMIT $4::int`,
    [userId, after?.at ?? null, after?.id ?? null, limit],
  );
  return rows;
}

/**
 * Moves a conversation to a model and/or gives it a title: a plaintext `title` only while it is
 * not encrypted (else nothing changes and null comes back, for the caller to read it again),
 * `titleCt` only once it is.
 */
export async function updateConversation(
  db: Queryable,
  userId: string,
  id: string,
  change: { title?: string; titleCt?: Buffer; modelId?: string },
): Promise<ConversationRow | null> {
  const { rows } = await query<ConversationRow>(
    db,
    'conversation_update',
    `UPDATE conversation SET title = coalesce($3::text, title), title_ct = coalesce($4::bytea, title_ct), model_id = coalesce($5::text, model_id), updated_at = now()
     WHERE id = $1::uuid AND user_id = $2::uuid
       AND ($3::text IS NULL OR wrapped_dek IS NULL) AND ($4::bytea IS NULL OR wrapped_dek IS NOT NULL)
     RETURNING ${CONVERSATION}`,
    [id, userId, change.title ?? null, change.titleCt ?? null, change.modelId ?? null],
  );
  return rows[0] ?? null;
}

/**
 * Encrypts a conversation's title and records its data key: the caller holds the row
 * (`getConversation(…, { forUpdate: true })`) and encrypts its messages in the same transaction.
 */
export async function setConversationEncrypted(db: Queryable, id: string, c: { titleCt: Buffer; wrappedDek: Buffer; kekId: string; restrictedModels: string[] }): Promise<void> {
  await query(
    db,
    'conversation_encrypt',
    `UPDATE conversation SET title = NULL, title_ct = $2::bytea, wrapped_dek = $3::bytea, kek_id = $4::text, restricted_models = $5::text[]
     WHERE id = $1::uuid`,
    [id, c.titleCt, c.wrappedDek, c.kekId, c.restrictedModels],
  );
}

/** Adds a restricted model to those a conversation has used (restricted_models only grows). */
export async function addRestrictedModel(db: Queryable, id: string, modelId: string): Promise<void> {
  await query(
    db,
    'conversation_add_restricted_model',
    `UPDATE conversation SET restricted_models = array_append(restricted_models, $2::text) WHERE id = $1::uuid AND NOT ($2::text = ANY (restricted_models))`,
    [id, modelId],
  );
}

export async function deleteConversation(db: Queryable, userId: string, id: string): Promise<boolean> {
  const { rowCount } = await query(db, 'conversation_delete', 'DELETE FROM conversation WHERE id = $1::uuid AND user_id = $2::uuid', [id, userId]);
  return (rowCount ?? 0) > 0;
}

export async function getMessages(db: Queryable, conversationId: string): Promise<MessageRow[]> {
  const { rows } = await query<MessageRow>(
    db,
    'messages_of',
    `SELECT ${MESSAGE} FROM message WHERE conversation_id = $1::uuid ORDER BY created_at, id`,
    [conversationId],
  );
  return rows;
}

/** A message's status now, or null once it is gone (a retry's answer waits on the one it replaces). */
export async function getMessageStatus(db: Queryable, id: string): Promise<MessageStatus | null> {
  const { rows } = await query<{ status: MessageStatus }>(db, 'message_status', 'SELECT status FROM message WHERE id = $1::uuid', [id]);
  return rows[0]?.status ?? null;
}

export async function insertMessage(
  db: Queryable,
  m: { id: string; conversationId: string; role: 'user' | 'assistant'; stored: StoredContent; modelId: string | null; status: MessageStatus },
): Promise<MessageRow> {
  const { rows } = await query<MessageRow>(
    db,
    'message_insert',
    `INSERT INTO message (id, conversation_id, role, content, content_ct, model_id, status)
     VALUES ($1::uuid, $2::uuid, $3::text, $4::text, $5::bytea, $6::text, $7::text) RETURNING ${MESSAGE}`,
    [m.id, m.conversationId, m.role, ...contentOf(m.stored), m.modelId, m.status],
  );
  return rows[0]!;
}

export async function finishMessage(db: Queryable, id: string, m: { stored: StoredContent; status: MessageStatus; note: string | null; usage: unknown }): Promise<void> {
  await query(db, 'message_finish', 'UPDATE message SET content = $2::text, content_ct = $3::bytea, status = $4::text, note = $5::text, usage = $6::jsonb WHERE id = $1::uuid', [
    id,
    ...contentOf(m.stored),
    m.status,
    m.note,
    m.usage === null || m.usage === undefined ? null : JSON.stringify(m.usage),
  ]);
}

/** Replaces messages' plaintext with their ciphertexts (encrypting a conversation in place), in one statement. */
export async function setMessageCiphertexts(db: Queryable, sealed: Array<{ id: string; contentCt: Buffer }>): Promise<void> {
  if (sealed.length === 0) return;
  await query(
    db,
    'message_encrypt',
    `UPDATE message m SET content = NULL, content_ct = s.ct FROM unnest($1::uuid[], $2::bytea[]) AS s(id, ct) WHERE m.id = s.id`,
    [sealed.map((m) => m.id), sealed.map((m) => m.contentCt)],
  );
}

export async function deleteMessage(db: Queryable, id: string): Promise<void> {
  await query(db, 'message_delete', 'DELETE FROM message WHERE id = $1::uuid', [id]);
}

/**
 * The encryption job's next batch: restricted conversations still in plaintext, locked, and
 * skipped if another transaction holds them (a request restricting one right now).
 */
export async function lockPlaintextRestrictedConversations(db: Queryable, limit: number): Promise<ConversationRow[]> {
  const { rows } = await query<ConversationRow>(
    db,
    'conversation_plaintext_restricted',
    `SELECT ${CONVERSATION} FROM conversation WHERE cardinality(restricted_models) > 0 AND wrapped_dek IS NULL
     ORDER BY id LIMIT $1::int FOR UPDATE SKIP LOCKED`,
    [limit],
  );
  return rows;
}

/** Rotation's next batch: data keys not wrapped under the current KEK, locked. */
export async function lockConversationsNotUnderKek(db: Queryable, kekId: string, limit: number): Promise<Array<{ id: string; wrapped_dek: Buffer; kek_id: string }>> {
  const { rows } = await query<{ id: string; wrapped_dek: Buffer; kek_id: string }>(
    db,
    'conversation_not_under_kek',
    `SELECT id, wrapped_dek, kek_id FROM conversation WHERE kek_id IS NOT NULL AND kek_id <> $1::text
     ORDER BY id LIMIT $2::int FOR UPDATE SKIP LOCKED`,
    [kekId, limit],
  );
  return rows;
}

export async function setWrappedDataKey(db: Queryable, id: string, wrapped: { wrapped: Buffer; kekId: string }): Promise<void> {
  await query(db, 'conversation_rewrap', 'UPDATE conversation SET wrapped_dek = $2::bytea, kek_id = $3::text WHERE id = $1::uuid', [id, wrapped.wrapped, wrapped.kekId]);
}

/**
 * What the admins see of encryption at rest: data keys per KEK, restricted conversations still
 * in plaintext, and whether PostgreSQL has checked every row against
 * conversation_restricted_is_encrypted (sql/000023, NOT VALID until the job validates it).
 */
export async function dataKeyCounts(
  db: Queryable,
): Promise<{ perKek: Array<{ kekId: string; conversations: number }>; plaintextRestricted: number; encryptionConstraintValidated: boolean }> {
  const [perKek, plaintext, constraint] = await Promise.all([
    query<{ kek_id: string; n: string }>(db, 'conversation_per_kek', 'SELECT kek_id, count(*) AS n FROM conversation WHERE kek_id IS NOT NULL GROUP BY kek_id ORDER BY kek_id'),
    countPlaintextRestricted(db),
    query<{ validated: boolean }>(
      db,
      'conversation_encryption_constraint',
      `SELECT convalidated AS validated FROM pg_catalog.pg_constraint
        WHERE conrelid = 'public.conversation'::regclass AND conname = 'conversation_restricted_is_encrypted'`,
    ),
  ]);
  return {
    perKek: perKek.rows.map((row) => ({ kekId: row.kek_id, conversations: Number(row.n) })),
    plaintextRestricted: plaintext,
    encryptionConstraintValidated: constraint.rows[0]?.validated === true,
  };
}

export async function countPlaintextRestricted(db: Queryable): Promise<number> {
  const { rows } = await query<{ n: string }>(db, 'conversation_plaintext_count', 'SELECT count(*) AS n FROM conversation WHERE cardinality(restricted_models) > 0 AND wrapped_dek IS NULL');
  return Number(rows[0]!.n);
}

/**
 * Has PostgreSQL check every row against conversation_restricted_is_encrypted and record that
 * the table holds it, through conversation_encryption_validate() (sql/000026: the server's role
 * does not own the table). True when this call validated it, false when it was valid already;
 * a restricted conversation still in plaintext fails it with PG_CHECK_VIOLATION.
 */
export async function validateEncryptionConstraint(db: Queryable): Promise<boolean> {
  const { rows } = await query<{ validated: boolean }>(db, 'conversation_encryption_validate', 'SELECT conversation_encryption_validate() AS validated');
  return rows[0]!.validated;
}
