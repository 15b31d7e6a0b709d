import type { ConversationView, MessageStatus, MessageView } from '../../shared/api.ts';
import { query, type Queryable } from './pool.ts';

export interface ConversationRow {
  id: string;
  title: string;
  model_id: string;
  created_at: Date;
  updated_at: Date;
  updated_cursor: string;
}

export interface MessageRow {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  model_id: string | null;
  status: MessageStatus;
  note: string | null;
  created_at: Date;
}

const CONVERSATION = `id, title, model_id, created_at, updated_at,
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_cursor`;
const MESSAGE = 'id, role, content, model_id, status, note, created_at';

export function toConversationView(row: ConversationRow): ConversationView {
  return { id: row.id, title: row.title, model: row.model_id, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
}

export function toMessageView(row: MessageRow): MessageView {
  return { id: row.id, role: row.role, content: row.content, model: row.model_id, status: row.status, note: row.note, createdAt: row.created_at.toISOString() };
}

export async function insertConversation(db: Queryable, c: { userId: string; title: string; modelId: string }): Promise<ConversationRow> {
  const { rows } = await query<ConversationRow>(
    db,
    'conversation_insert',
    `INSERT INTO conversation (user_id, title, model_id) VALUES ($1::uuid, $2::text, $3::text) RETURNING ${CONVERSATION}`,
    [c.userId, c.title, c.modelId],
  );
  return rows[0]!;
}

/** A conversation of this user only: someone else's id finds nothing. */
export async function getConversation(db: Queryable, userId: string, id: string): Promise<ConversationRow | null> {
  const { rows } = await query<ConversationRow>(
    db,
    'conversation_get',
    `SELECT ${CONVERSATION} FROM conversation WHERE id = $1::uuid AND user_id = $2::uuid`,
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

export async function updateConversation(db: Queryable, userId: string, id: string, change: { title?: string; modelId?: string }): Promise<ConversationRow | null> {
  const { rows } = await query<ConversationRow>(
    db,
    'conversation_update',
    `UPDATE conversation SET title = coalesce($3::text, title), model_id = coalesce($4::text, model_id), updated_at = now()
     WHERE id = $1::uuid AND user_id = $2::uuid RETURNING ${CONVERSATION}`,
    [id, userId, change.title ?? null, change.modelId ?? null],
  );
  return rows[0] ?? null;
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

export async function insertMessage(
  db: Queryable,
  m: { conversationId: string; role: 'user' | 'assistant'; content: string; modelId: string | null; status: MessageStatus },
): Promise<MessageRow> {
  const { rows } = await query<MessageRow>(
    db,
    'message_insert',
    `INSERT INTO message (conversation_id, role, content, model_id, status) VALUES ($1::uuid, $2::text, $3::text, $4::text, $5::text) RETURNING ${MESSAGE}`,
    [m.conversationId, m.role, m.content, m.modelId, m.status],
  );
  return rows[0]!;
}

export async function finishMessage(db: Queryable, id: string, m: { content: string; status: MessageStatus; note: string | null; usage: unknown }): Promise<void> {
  await query(db, 'message_finish', 'UPDATE message SET content = $2::text, status = $3::text, note = $4::text, usage = $5::jsonb WHERE id = $1::uuid', [
    id,
    m.content,
    m.status,
    m.note,
    m.usage === null || m.usage === undefined ? null : JSON.stringify(m.usage),
  ]);
}

export async function deleteMessage(db: Queryable, id: string): Promise<void> {
  await query(db, 'message_delete', 'DELETE FROM message WHERE id = $1::uuid', [id]);
}
