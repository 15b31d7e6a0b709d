/**
 * Saved conversations: the list in the sidebar, one conversation's messages, and the three
 * streams that add to it (a new message, another go at the last answer, or the last question edited).
 */
import { action, json, query } from '@solidjs/router';
import type {
  ConversationListResponse,
  ConversationResponse,
  ConversationView,
  CreateConversationRequest,
  MessageView,
  RenameConversationRequest,
  RetryRequest,
  SendMessageRequest,
} from '../../shared/api.ts';
import type { ChatStreamEvent } from '../../shared/events.ts';
import { readChatStream } from './chat.ts';
import { ApiError, request, withQuery } from './http.ts';

const CONVERSATION_PAGE_SIZE = 30;

const conversationPath = (id: string) => `/api/conversations/${encodeURIComponent(id)}`;

/**
 * GET /api/conversations: newest activity first, one page after the keyset cursor `after`.
 * A locked restricted conversation is listed with `title` null.
 */
export const listConversations = query(
  (after: string | null) =>
    request<ConversationListResponse>(
      'GET',
      withQuery('/api/conversations', { after, limit: CONVERSATION_PAGE_SIZE }),
      // Titles of restricted conversations: never from (or into) the browser's HTTP cache.
      { cache: 'no-store' },
    ),
  'conversations',
);

/**
 * A conversation as read: its messages, or, for a restricted one this session holds no live
 * grant to read, only its locked metadata (no title, no messages).
 */
export type ConversationRead =
  | { locked: false; conversation: ConversationView; messages: MessageView[] }
  | { locked: true; conversation: ConversationView };

/** What is known of a locked conversation when the refusal came without its metadata. */
function lockedPlaceholder(id: string): ConversationView {
  return { id, title: null, model: '', createdAt: '', updatedAt: '', restricted: true, restrictedModels: [], locked: true };
}

/**
 * GET /api/conversations/:id, messages oldest first; 403 GRANT_REQUIRED (a restricted one
 * without a live grant) is read as its locked metadata; 404 NOT_FOUND for one that does not
 * exist or is someone else's. Not a cached query: the chat screen writes to what it reads, and
 * a restricted conversation must not stay in the browser's HTTP cache either.
 */
export async function fetchConversation(id: string, signal?: AbortSignal): Promise<ConversationRead> {
  try {
    const read = await request<ConversationResponse>('GET', conversationPath(id), { signal, cache: 'no-store' });
    // Locked metadata, however it came: nothing of its content is shown.
    if (read.conversation.locked) return { locked: true, conversation: { ...read.conversation, title: null } };
    return { locked: false, conversation: read.conversation, messages: read.messages };
  } catch (error) {
    if (error instanceof ApiError && error.code === 'GRANT_REQUIRED') {
      return { locked: true, conversation: { ...(error.conversation ?? lockedPlaceholder(id)), title: null, locked: true } };
    }
    throw error;
  }
}

/** POST /api/conversations: an empty conversation with `model`; the first message names it. */
export async function startConversation(
  body: CreateConversationRequest,
  signal?: AbortSignal,
): Promise<ConversationView> {
  const created = await request<{ conversation: ConversationView }>('POST', '/api/conversations', { body, signal });
  return created.conversation;
}

/** PATCH /api/conversations/:id */
export const renameConversation = action(async (id: string, title: string) => {
  const body: RenameConversationRequest = { title };
  const renamed = await request<{ conversation: ConversationView }>('PATCH', conversationPath(id), { body });
  return json(renamed, { revalidate: listConversations.key });
}, 'renameConversation');

/** DELETE /api/conversations/:id */
export const deleteConversation = action(async (id: string) => {
  await request<void>('DELETE', conversationPath(id));
  // An action answering nothing counts as never submitted: say what happened.
  return json({ deleted: id }, { revalidate: listConversations.key });
}, 'deleteConversation');

/**
 * POST /api/conversations/:id/messages: stores the message and streams the answer, which
 * starts with the stored ids of both (`start`).
 */
export function streamMessage(
  id: string,
  body: SendMessageRequest,
  signal: AbortSignal,
  onEvent: (event: ChatStreamEvent) => void,
): Promise<void> {
  return readChatStream(`${conversationPath(id)}/messages`, body, signal, onEvent);
}

/** POST /api/conversations/:id/retry: answers the last message again, replacing the last answer. */
export function streamRetry(
  id: string,
  body: RetryRequest,
  signal: AbortSignal,
  onEvent: (event: ChatStreamEvent) => void,
): Promise<void> {
  return readChatStream(`${conversationPath(id)}/retry`, body, signal, onEvent);
}

/**
 * POST /api/conversations/:id/edit: replaces the last question (and its answer) with `content`
 * and streams the new answer; `start` carries the stored ids of both. Restricted models need
 * a grant, as for a retry.
 */
export function streamEdit(
  id: string,
  body: SendMessageRequest,
  signal: AbortSignal,
  onEvent: (event: ChatStreamEvent) => void,
): Promise<void> {
  return readChatStream(`${conversationPath(id)}/edit`, body, signal, onEvent);
}
