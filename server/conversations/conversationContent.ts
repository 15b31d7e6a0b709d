import type { ConversationView, MessageView } from '../../shared/api.ts';
import { ConversationKey, UnreadableCiphertextError, dataKeysFor } from '../crypto/dataKeys.ts';
import {
  getConversation,
  getMessages,
  setConversationEncrypted,
  setMessageCiphertexts,
  type ConversationRow,
  type MessageRow,
  type StoredContent,
} from '../db/conversations.ts';
import { query, withTransaction, type Queryable } from '../db/pool.ts';
import type { Deps } from '../deps.ts';
import { HttpError } from '../http/errors.ts';

/**
 * Reading and writing restricted conversations' content (issue #21): their titles and messages
 * are sealed under the conversation's data key (server/crypto/dataKeys.ts). Who may read them is
 * decided before (conversationCover.ts); this module only seals and opens.
 */

export const isRestricted = (row: Pick<ConversationRow, 'restricted_models'>) => row.restricted_models.length > 0;

/** The view of a conversation: `title` null when locked (or not known). */
export function conversationView(row: ConversationRow, title: string | null, locked: boolean): ConversationView {
  return {
    id: row.id,
    title: locked ? null : title,
    model: row.model_id,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    restricted: isRestricted(row),
    restrictedModels: row.restricted_models,
    locked,
  };
}

/**
 * A ciphertext that did not open is never shown as garbage: an alarm in the log (someone may
 * have moved rows in the database, or a KEK was removed too soon) and a stable error.
 */
export function unreadable(deps: Pick<Deps, 'log'>, conversationId: string, error: UnreadableCiphertextError): HttpError {
  deps.log.error({ alarm: 'conversation_unreadable', conversationId, what: error.what, reason: error.reason }, 'ALARM: a restricted conversation does not decrypt');
  return new HttpError(422, 'CONVERSATION_UNREADABLE', 'This conversation cannot be decrypted. The administrators have been alerted.');
}

/** Runs `open`, turning a ciphertext that does not open into CONVERSATION_UNREADABLE. */
export function opening<T>(deps: Pick<Deps, 'log'>, conversationId: string, open: () => T): T {
  try {
    return open();
  } catch (error) {
    if (error instanceof UnreadableCiphertextError) throw unreadable(deps, conversationId, error);
    throw error;
  }
}

/** The conversation's data key, unwrapped (once per request), or null while it is in plaintext. */
export function conversationKey(deps: Pick<Deps, 'config' | 'log'>, row: Pick<ConversationRow, 'id' | 'wrapped_dek' | 'kek_id'>): ConversationKey | null {
  if (!row.wrapped_dek || !row.kek_id) return null;
  const stored = { wrapped: row.wrapped_dek, kekId: row.kek_id };
  return opening(deps, row.id, () => dataKeysFor(deps.config).unwrap(row.id, stored));
}

/** The title: opened with the key, or as stored (a standard conversation, or a restricted one the job has not reached). */
export function titleOf(deps: Pick<Deps, 'log'>, row: ConversationRow, key: ConversationKey | null): string {
  if (row.title_ct) {
    const sealed = row.title_ct;
    if (!key) throw unreadable(deps, row.id, new UnreadableCiphertextError('unknown_kek', 'title'));
    return opening(deps, row.id, () => key.openTitle(sealed));
  }
  return row.title ?? '';
}

/** A message's text: opened with the key, or as stored. */
export function contentOf(deps: Pick<Deps, 'log'>, conversationId: string, message: MessageRow, key: ConversationKey | null): string {
  if (message.content_ct) {
    const sealed = message.content_ct;
    if (!key) throw unreadable(deps, conversationId, new UnreadableCiphertextError('unknown_kek', 'message'));
    return opening(deps, conversationId, () => key.openMessage(message.id, message.role, sealed));
  }
  return message.content ?? '';
}

export function messageView(message: MessageRow, content: string): MessageView {
  return { id: message.id, role: message.role, content, model: message.model_id, status: message.status, note: message.note, createdAt: message.created_at.toISOString() };
}

/**
 * Encrypts a conversation in place, in the caller's transaction: a data key, the title and every
 * message sealed, the plaintext gone, `restrictedModels` recorded. The row is locked first
 * (FOR UPDATE), so a message written meanwhile waits (its writer holds the row FOR SHARE, see
 * `writeContent`) and is then either in the list sealed here or sees the data key.
 */
export async function encryptConversation(deps: { config: Pick<Deps['config'], 'dataEncryptionKeys'> }, client: Queryable, row: ConversationRow, restrictedModels: string[]): Promise<ConversationKey> {
  const { key, stored } = dataKeysFor(deps.config).newDataKey(row.id);
  const messages = (await getMessages(client, row.id)).filter((m) => m.content !== null);
  await setConversationEncrypted(client, row.id, { titleCt: key.sealTitle(row.title ?? ''), wrappedDek: stored.wrapped, kekId: stored.kekId, restrictedModels });
  await setMessageCiphertexts(
    client,
    messages.map((m) => ({ id: m.id, contentCt: key.sealMessage(m.id, m.role, m.content!) })),
  );
  return key;
}

/**
 * A restricted model is about to answer in this conversation (`modelId`), or a restricted
 * conversation still in plaintext is about to change (`modelId` null): it becomes (or stays)
 * restricted, with the model among its restricted models, and is encrypted in the same
 * transaction if it was not yet. Returns its data key.
 */
export async function restrictConversation(
  deps: Pick<Deps, 'config' | 'pool' | 'log'>,
  { userId, conversationId, modelId }: { userId: string; conversationId: string; modelId: string | null },
): Promise<ConversationKey> {
  return withTransaction(deps.pool, async (client) => {
    const row = await getConversation(client, userId, conversationId, { forUpdate: true });
    if (!row) throw new HttpError(404, 'NOT_FOUND', 'No such conversation.');
    const restrictedModels = modelId === null || row.restricted_models.includes(modelId) ? row.restricted_models : [...row.restricted_models, modelId];
    if (row.wrapped_dek) {
      if (restrictedModels !== row.restricted_models) await setRestrictedModels(client, row.id, restrictedModels);
      return conversationKey(deps, row)!;
    }
    return encryptConversation(deps, client, row, restrictedModels);
  });
}

async function setRestrictedModels(db: Queryable, id: string, models: string[]): Promise<void> {
  await query(db, 'conversation_restricted_models', 'UPDATE conversation SET restricted_models = $2::text[] WHERE id = $1::uuid', [id, models]);
}

/**
 * Writes a message's content in the form its conversation needs at that moment: the
 * conversation is held FOR SHARE while the message is written, so a conversation being
 * encrypted right now (FOR UPDATE) is either already encrypted (and the content is sealed) or
 * waits for this write and seals it with the rest. `known` is the key the request already
 * holds; one found here is remembered in it.
 */
export async function writeContent<T>(
  deps: Pick<Deps, 'config' | 'pool' | 'log'>,
  { conversationId, known, messageId, role, content }: { conversationId: string; known: { key: ConversationKey | null }; messageId: string; role: 'user' | 'assistant'; content: string },
  write: (db: Queryable, stored: StoredContent) => Promise<T>,
): Promise<T> {
  return withTransaction(deps.pool, async (client) => {
    const { rows } = await query<Pick<ConversationRow, 'id' | 'wrapped_dek' | 'kek_id'>>(
      client,
      'conversation_share',
      'SELECT id, wrapped_dek, kek_id FROM conversation WHERE id = $1::uuid FOR SHARE',
      [conversationId],
    );
    const row = rows[0];
    if (row?.wrapped_dek && !known.key) known.key = conversationKey(deps, row);
    const stored: StoredContent = known.key ? { contentCt: known.key.sealMessage(messageId, role, content) } : { content };
    return write(client, stored);
  });
}
