import { z } from 'zod';
import type { ChatMessage, ConversationListResponse, ConversationResponse, ConversationViewResponse } from '../../shared/api.ts';
import { CONVERSATION_TITLE_MAX } from '../../shared/api.ts';
import { streamAnswer } from '../chat/streamAnswer.ts';
import {
  deleteConversation,
  deleteMessage,
  finishMessage,
  getConversation,
  getMessages,
  insertConversation,
  insertMessage,
  listConversations,
  toConversationView,
  toMessageView,
  updateConversation,
  type ConversationRow,
  type MessageRow,
} from '../db/conversations.ts';
import type { ModelRow } from '../db/models.ts';
import type { Deps } from '../deps.ts';
import { pageOf, timeIdCursor } from '../http/cursors.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { defineRoute, responds } from '../http/route.ts';
import { enabledModel, answerRefusalError, MessageContent } from './chat.ts';

const IdParams = z.strictObject({ id: z.uuid('not a conversation id') });
const Title = z.string().trim().min(1, 'Give the conversation a title.').max(CONVERSATION_TITLE_MAX);
const ModelId = z.string().min(1).max(64);
const NEW_TITLE = 'New conversation';

/** A first message makes a better title than "New conversation". */
function titleFrom(content: string): string {
  const line = content.replace(/\s+/g, ' ').trim();
  return line.length > 60 ? `${line.slice(0, 57)}…` : line;
}

/** The history a model sees: every stored message that has content, oldest first. */
function history(messages: Array<{ role: 'user' | 'assistant'; content: string }>): ChatMessage[] {
  return messages.filter((m) => m.content.length > 0).map((m) => ({ role: m.role, content: m.content }));
}

/**
 * Streams the model's answer into a new assistant message, finished with its outcome, and
 * moves the conversation to the model (and to `title`, when given). Nothing is stored before
 * the guards have passed: `beforeAnswer` makes the request's own change (storing the question,
 * or dropping the answer it replaces) only then, so a refused request leaves nothing behind.
 */
async function answerInConversation(
  deps: Deps,
  {
    conversationId,
    model,
    beforeAnswer,
    ...stream
  }: Pick<Parameters<typeof streamAnswer>[1], 'req' | 'res' | 'user' | 'context' | 'messages'> & {
    conversationId: string;
    model: ModelRow;
    beforeAnswer: () => Promise<{ userMessageId: string | null; title?: string }>;
  },
): Promise<void> {
  let answerId = '';
  const result = await streamAnswer(deps, {
    ...stream,
    model,
    beforeStream: async () => {
      const { userMessageId, title } = await beforeAnswer();
      const answer = await insertMessage(deps.pool, { conversationId, role: 'assistant', content: '', modelId: model.id, status: 'streaming' });
      answerId = answer.id;
      await updateConversation(deps.pool, stream.user.id, conversationId, { modelId: model.id, ...(title ? { title } : {}) });
      return { type: 'start', userMessageId, assistantMessageId: answer.id };
    },
    afterStream: (outcome) => finishMessage(deps.pool, answerId, outcome),
  });
  if (!result.streamed) throw answerRefusalError(result);
}

/** The user's own conversation `id`, or 404 (another user's conversation is not found either). */
async function ownConversation(deps: Deps, userId: string, id: string): Promise<ConversationRow> {
  const conversation = await getConversation(deps.pool, userId, id);
  if (!conversation) throw notFound('No such conversation.');
  return conversation;
}

/**
 * The last question and the answer to it (if any), for a retry or an edit: `kept` is every
 * message but that answer. Refused (409) without a question, or while the answer is still streaming.
 */
function lastExchange(messages: MessageRow[], noQuestion: string): { replaced: MessageRow | null; kept: MessageRow[]; question: MessageRow } {
  const last = messages.at(-1);
  const replaced = last?.role === 'assistant' ? last : null;
  const kept = replaced ? messages.slice(0, -1) : messages;
  const question = kept.at(-1);
  if (question?.role !== 'user') throw new HttpError(409, 'CONFLICT', noQuestion);
  if (replaced?.status === 'streaming') throw new HttpError(409, 'CONFLICT', 'The last answer is still being written.');
  return { replaced, kept, question };
}

export const conversationRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/conversations',
    access: 'signed-in',
    summary: 'Your conversations, most recently used first.',
    response: responds<ConversationListResponse>(),
    query: z.strictObject({ after: timeIdCursor.schema.optional(), limit: z.coerce.number().int().min(1).max(100).default(30) }),
    async handler({ user, query, deps }) {
      const rows = await listConversations(deps.pool, user.id, query.after, query.limit + 1);
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => timeIdCursor.encode(last.updated_cursor, last.id));
      return { body: { conversations: page.map(toConversationView), nextCursor } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/conversations',
    access: 'signed-in',
    summary: 'Start a conversation.',
    response: responds<ConversationViewResponse>(),
    body: z.strictObject({ model: ModelId, title: Title.optional() }),
    async handler({ user, body, deps }) {
      const model = await enabledModel(deps, body.model);
      const row = await insertConversation(deps.pool, { userId: user.id, title: body.title ?? NEW_TITLE, modelId: model.id });
      return { status: 201, body: { conversation: toConversationView(row) } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/conversations/:id',
    access: 'signed-in',
    summary: 'One of your conversations with its messages.',
    response: responds<ConversationResponse>(),
    params: IdParams,
    async handler({ user, params, deps }) {
      const conversation = await ownConversation(deps, user.id, params.id);
      return { body: { conversation: toConversationView(conversation), messages: (await getMessages(deps.pool, conversation.id)).map(toMessageView) } };
    },
  }),

  defineRoute({
    method: 'patch',
    path: '/api/conversations/:id',
    access: 'signed-in',
    summary: 'Rename one of your conversations.',
    response: responds<ConversationViewResponse>(),
    params: IdParams,
    body: z.strictObject({ title: Title }),
    async handler({ user, params, body, deps }) {
      const row = await updateConversation(deps.pool, user.id, params.id, { title: body.title });
      if (!row) throw notFound('No such conversation.');
      return { body: { conversation: toConversationView(row) } };
    },
  }),

  defineRoute({
    method: 'delete',
    path: '/api/conversations/:id',
    access: 'signed-in',
    summary: 'Delete one of your conversations and its messages.',
    params: IdParams,
    async handler({ user, params, deps }) {
      if (!(await deleteConversation(deps.pool, user.id, params.id))) throw notFound('No such conversation.');
      return {};
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/conversations/:id/messages',
    access: 'signed-in',
    summary: 'Send a message and stream the answer (Server-Sent Events); both are stored.',
    params: IdParams,
    body: z.strictObject({ content: MessageContent, model: ModelId }),
    async handler({ req, res, user, params, body, deps, audit }) {
      const conversation = await ownConversation(deps, user.id, params.id);
      const model = await enabledModel(deps, body.model);
      const earlier = await getMessages(deps.pool, conversation.id);
      await answerInConversation(deps, {
        req, res, user, context: audit, conversationId: conversation.id, model,
        messages: [...history(earlier), { role: 'user', content: body.content }],
        beforeAnswer: async () => {
          const question = await insertMessage(deps.pool, { conversationId: conversation.id, role: 'user', content: body.content, modelId: null, status: 'complete' });
          const title = earlier.length === 0 && conversation.title === NEW_TITLE ? titleFrom(body.content) : undefined;
          return { userMessageId: question.id, title };
        },
      });
      return {};
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/conversations/:id/retry',
    access: 'signed-in',
    summary: 'Answer the last message again (replaces the last answer), streamed.',
    params: IdParams,
    body: z.strictObject({ model: ModelId.optional() }),
    async handler({ req, res, user, params, body, deps, audit }) {
      const conversation = await ownConversation(deps, user.id, params.id);
      const model = await enabledModel(deps, body.model ?? conversation.model_id);
      const { replaced, kept } = lastExchange(await getMessages(deps.pool, conversation.id), 'There is no question to answer again.');
      await answerInConversation(deps, {
        req, res, user, context: audit, conversationId: conversation.id, model,
        messages: history(kept),
        beforeAnswer: async () => {
          if (replaced) await deleteMessage(deps.pool, replaced.id);
          return { userMessageId: null };
        },
      });
      return {};
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/conversations/:id/edit',
    access: 'signed-in',
    summary: 'Replace the last question (and its answer) with new words, and stream the answer.',
    params: IdParams,
    body: z.strictObject({ content: MessageContent, model: ModelId }),
    async handler({ req, res, user, params, body, deps, audit }) {
      const conversation = await ownConversation(deps, user.id, params.id);
      const model = await enabledModel(deps, body.model);
      const { replaced, kept, question } = lastExchange(await getMessages(deps.pool, conversation.id), 'There is no question to edit.');
      // The same stream (and grant check) as a retry: nothing changes before the guards have passed.
      await answerInConversation(deps, {
        req, res, user, context: audit, conversationId: conversation.id, model,
        messages: [...history(kept.slice(0, -1)), { role: 'user', content: body.content }],
        beforeAnswer: async () => {
          if (replaced) await deleteMessage(deps.pool, replaced.id);
          await deleteMessage(deps.pool, question.id);
          const edited = await insertMessage(deps.pool, { conversationId: conversation.id, role: 'user', content: body.content, modelId: null, status: 'complete' });
          return { userMessageId: edited.id };
        },
      });
      return {};
    },
  }),
];
