import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { ChatMessage, ConversationListResponse, ConversationResponse, ConversationView, ConversationViewResponse } from '../../shared/api.ts';
import { CONVERSATION_TITLE_MAX } from '../../shared/api.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { streamAnswer } from '../chat/streamAnswer.ts';
import { dataKeysFor, type ConversationKey } from '../crypto/dataKeys.ts';
import {
  contentOf,
  conversationKey,
  conversationView,
  isRestricted,
  messageView,
  restrictConversation,
  titleOf,
  writeContent,
} from '../conversations/conversationContent.ts';
import { coverOf, sessionGrant, type Cover, type CoverRefusal } from '../conversations/conversationCover.ts';
import {
  deleteConversation,
  deleteMessage,
  finishMessage,
  getConversation,
  getMessageStatus,
  getMessages,
  insertConversation,
  insertEncryptedConversation,
  insertMessage,
  listConversations,
  updateConversation,
  type ConversationRow,
  type MessageRow,
} from '../db/conversations.ts';
import type { ModelRow } from '../db/models.ts';
import type { Grant } from '../grants/grants.ts';
import type { UserRow } from '../db/users.ts';
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

/** Conversation answers may hold restricted content: no browser or proxy keeps them (issue #21). */
function noStore(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
}

/** A refused read of a restricted conversation: fail closed when Redis cannot answer, else GRANT_REQUIRED (with the locked view, if given). */
function coverRefusalError(reason: CoverRefusal, conversation?: ConversationView): HttpError {
  if (reason === 'grant_check_unavailable') {
    return new HttpError(503, 'GRANT_CHECK_UNAVAILABLE', 'Access to restricted conversations cannot be checked right now, so it is denied. Try again shortly.');
  }
  const message =
    reason === 'key_not_active'
      ? 'The security key that unlocked restricted models is no longer active. Touch an active key to read this conversation.'
      : 'This conversation used a restricted model. Touch your security key to read it.';
  return new HttpError(403, 'GRANT_REQUIRED', message, conversation ? { conversation } : {});
}

/**
 * The cover a restricted conversation needs (conversationCover.ts), or the refusal, audited as
 * `conversation.read_denied` and thrown.
 */
async function requireCover(deps: Deps, { req, user, conversation, context, lockedView = false }: { req: Request; user: UserRow; conversation: ConversationRow; context: AuditContext; lockedView?: boolean }): Promise<Extract<Cover, { covered: true }>> {
  const cover = await coverOf(deps, await sessionGrant(deps, { sessionId: req.sessionID, userId: user.id, context }), conversation.restricted_models);
  if (cover.covered) return cover;
  await recordAuditEvent(deps.pool, context, {
    action: 'conversation.read_denied',
    outcome: 'denied',
    model: conversation.model_id,
    target: { type: 'conversation', id: conversation.id },
    details: { reason: cover.reason },
  });
  throw coverRefusalError(cover.reason, lockedView ? conversationView(conversation, null, true) : undefined);
}

/**
 * Records a covered read of a restricted conversation (`conversation.read`) before anything of it
 * is sent. It goes through the audit outbox (Redis, MAC'd, as grant ends do) rather than a
 * Postgres commit per read, and is appended to the chain within a second: opening a conversation
 * stays fast (e2e/bench/conversations.ts) and is still never shown unrecorded.
 * `details.grantId` names the grant the read ran under, and `model` is the conversation's model,
 * or, when that is a standard one, its restricted model the grant covers: the read is then a
 * restricted use a presence proof can check (docs/presence-proofs.md).
 */
async function recordRead(deps: Deps, context: AuditContext, conversation: ConversationRow, grant: Grant): Promise<void> {
  const model = grant.models.includes(conversation.model_id) ? conversation.model_id : (conversation.restricted_models.find((m) => grant.models.includes(m)) ?? conversation.model_id);
  const multi = deps.auditOutbox.queue(deps.redis.multi(), context, {
    action: 'conversation.read',
    outcome: 'success',
    model,
    target: { type: 'conversation', id: conversation.id },
    details: { grantId: grant.id },
  });
  const results = await multi.exec();
  const failed = results?.find(([error]) => error);
  if (!results || failed) throw failed?.[0] ?? new Error('conversation.read not queued');
}

/** The user's own conversation `id`, or 404 (another user's conversation is not found either). */
async function ownConversation(deps: Deps, userId: string, id: string): Promise<ConversationRow> {
  const conversation = await getConversation(deps.pool, userId, id);
  if (!conversation) throw notFound('No such conversation.');
  return conversation;
}

/** A conversation's messages in clear, with the key it was opened with: call only once it is covered (or standard). */
async function openConversation(deps: Deps, conversation: ConversationRow): Promise<{ key: ConversationKey | null; messages: Array<MessageRow & { text: string }> }> {
  const key = conversationKey(deps, conversation);
  const messages = await getMessages(deps.pool, conversation.id);
  return { key, messages: messages.map((m) => ({ ...m, text: contentOf(deps, conversation.id, m, key) })) };
}

/**
 * Streams the model's answer into a new assistant message, finished with its outcome, and
 * moves the conversation to the model (and to `title`, when given). Nothing is stored before
 * the guards have passed: `beforeAnswer` makes the request's own change (storing the question,
 * or dropping the answer it replaces) only then, so a refused request leaves nothing behind.
 *
 * A restricted model makes the conversation restricted, after the guards and before anything
 * new is stored: the title and every message so far are encrypted in that step, and what this
 * request stores (question, answer, title) is sealed under the conversation's data key.
 */
async function answerInConversation(
  deps: Deps,
  {
    conversation,
    key,
    model,
    beforeAnswer,
    ...stream
  }: Pick<Parameters<typeof streamAnswer>[1], 'req' | 'res' | 'user' | 'context' | 'messages'> & {
    conversation: ConversationRow;
    /** The data key, if the conversation is encrypted already. */
    key: ConversationKey | null;
    model: ModelRow;
    beforeAnswer: (store: (role: 'user', content: string) => Promise<string>) => Promise<{ userMessageId: string | null; title?: string }>;
  },
): Promise<void> {
  const conversationId = conversation.id;
  const known = { key };
  const store = async (role: 'user' | 'assistant', content: string, status: 'complete' | 'streaming') => {
    const id = randomUUID();
    await writeContent(deps, { conversationId, known, messageId: id, role, content }, (db, stored) =>
      insertMessage(db, { id, conversationId, role, stored, modelId: role === 'assistant' ? model.id : null, status }),
    );
    return id;
  };
  let answerId = '';
  const result = await streamAnswer(deps, {
    ...stream,
    model,
    restricted: isRestricted(conversation) || model.tier === 'restricted',
    beforeStream: async () => {
      if (model.tier === 'restricted') known.key = await restrictConversation(deps, { userId: stream.user.id, conversationId, modelId: model.id });
      const { userMessageId, title } = await beforeAnswer((role, content) => store(role, content, 'complete'));
      answerId = await store('assistant', '', 'streaming');
      await retitle(deps, { userId: stream.user.id, conversationId, known, modelId: model.id, title });
      return { type: 'start', userMessageId, assistantMessageId: answerId };
    },
    afterStream: ({ content, ...outcome }) =>
      writeContent(deps, { conversationId, known, messageId: answerId, role: 'assistant', content }, (db, stored) => finishMessage(db, answerId, { ...outcome, stored })),
  });
  if (!result.streamed) throw answerRefusalError(result);
}

/**
 * Moves a conversation to a model and/or gives it a title, sealed if the conversation is
 * encrypted (by now, or by the time it is written: then it is read again and sealed).
 */
async function retitle(
  deps: Deps,
  { userId, conversationId, known, modelId, title }: { userId: string; conversationId: string; known: { key: ConversationKey | null }; modelId?: string; title?: string | undefined },
): Promise<ConversationRow | null> {
  const change = (key: ConversationKey | null) => ({ ...(modelId ? { modelId } : {}), ...(title === undefined ? {} : key ? { titleCt: key.sealTitle(title) } : { title }) });
  const row = await updateConversation(deps.pool, userId, conversationId, change(known.key));
  if (row || title === undefined || known.key) return row;
  // Encrypted meanwhile (a plaintext title is never written into an encrypted row): seal it.
  const current = await getConversation(deps.pool, userId, conversationId);
  if (!current) return null;
  known.key = conversationKey(deps, current);
  return updateConversation(deps.pool, userId, conversationId, change(known.key));
}

/**
 * The last question and the answer to it (if any), for a retry or an edit: `kept` is every
 * message but that answer. Refused (409) without a question, or while the answer is still streaming.
 */
function lastExchange<M extends MessageRow>(messages: M[], noQuestion: string): { replaced: M | null; kept: M[]; question: M } {
  const last = messages.at(-1);
  const replaced = last?.role === 'assistant' ? last : null;
  const kept = replaced ? messages.slice(0, -1) : messages;
  const question = kept.at(-1);
  if (question?.role !== 'user') throw new HttpError(409, 'CONFLICT', noQuestion);
  if (replaced?.status === 'streaming') throw new HttpError(409, 'CONFLICT', 'The last answer is still being written.');
  return { replaced, kept, question };
}

/**
 * A conversation to answer in, opened: a restricted one only under cover (its history is
 * decrypted to be sent), whichever model answers now. `replacing` (a retry, an edit): the
 * last answer, if it is still streaming, is waited for first (see settledConversation).
 */
async function conversationToAnswer(
  deps: Deps,
  { req, user, id, context, replacing = false }: { req: Request; user: UserRow; id: string; context: AuditContext; replacing?: boolean },
) {
  let conversation = await ownConversation(deps, user.id, id);
  if (isRestricted(conversation)) {
    await requireCover(deps, { req, user, conversation, context });
    conversation = await encryptedBeforeChange(deps, user.id, conversation);
  }
  const opened = await openConversation(deps, conversation);
  return { conversation, ...(replacing ? await settledConversation(deps, conversation, opened) : opened) };
}

/** How long a retry or an edit waits for the answer it replaces to be stored. */
const SETTLE_WAIT_MS = 2_000;

/**
 * The conversation read again once its last answer has stopped streaming. Stop, then Retry
 * at once: the retry can arrive before the stopped stream has stored its answer, cut off (the
 * server sees the client leave, ends the upstream request, then writes). Waits at most
 * SETTLE_WAIT_MS, then gives back what it has: an answer still streaming then is another
 * tab's, and lastExchange refuses it.
 */
async function settledConversation(deps: Deps, conversation: ConversationRow, opened: Awaited<ReturnType<typeof openConversation>>) {
  const last = opened.messages.at(-1);
  if (last?.role !== 'assistant' || last.status !== 'streaming') return opened;
  const deadline = Date.now() + SETTLE_WAIT_MS;
  for (let pause = 10; Date.now() < deadline; pause = Math.min(pause * 2, 200)) {
    await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
    if ((await getMessageStatus(deps.pool, last.id)) !== 'streaming') return openConversation(deps, conversation);
  }
  return opened;
}

/**
 * A restricted conversation the encryption job has not reached yet is encrypted before it
 * changes: nothing is ever written in plaintext into a restricted conversation (the schema
 * refuses it too). Returns the row as it now is.
 */
async function encryptedBeforeChange(deps: Deps, userId: string, conversation: ConversationRow): Promise<ConversationRow> {
  if (!isRestricted(conversation) || conversation.wrapped_dek) return conversation;
  await restrictConversation(deps, { userId, conversationId: conversation.id, modelId: null });
  return ownConversation(deps, userId, conversation.id);
}

export const conversationRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/conversations',
    access: 'signed-in',
    summary: 'Your conversations, most recently used first (restricted ones locked without a live grant covering them).',
    response: responds<ConversationListResponse>(),
    query: z.strictObject({ after: timeIdCursor.schema.optional(), limit: z.coerce.number().int().min(1).max(100).default(30) }),
    async handler({ req, res, user, query, deps, audit }) {
      noStore(res);
      const rows = await listConversations(deps.pool, user.id, query.after, query.limit + 1);
      const { page, nextCursor } = pageOf(rows, query.limit, (last) => timeIdCursor.encode(last.updated_cursor, last.id));
      // One grant check for the page, not one per row; titles are not audited as reads (docs/architecture.md).
      const session = page.some(isRestricted) ? await sessionGrant(deps, { sessionId: req.sessionID, userId: user.id, context: audit }) : null;
      const conversations = await Promise.all(
        page.map(async (row) => {
          if (!isRestricted(row)) return conversationView(row, row.title, false);
          const cover = await coverOf(deps, session!, row.restricted_models);
          if (!cover.covered) return conversationView(row, null, true);
          try {
            return conversationView(row, titleOf(deps, row, conversationKey(deps, row)), false);
          } catch (error) {
            // One row that does not decrypt (alarm logged) does not take the list down: it is shown without its title.
            if (error instanceof HttpError && error.code === 'CONVERSATION_UNREADABLE') return conversationView(row, null, true);
            throw error;
          }
        }),
      );
      return { body: { conversations, nextCursor } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/conversations',
    access: 'signed-in',
    summary: 'Start a conversation (with a restricted model: restricted and encrypted from the start).',
    response: responds<ConversationViewResponse>(),
    body: z.strictObject({ model: ModelId, title: Title.optional() }),
    async handler({ req, res, user, body, deps, audit }) {
      const model = await enabledModel(deps, body.model);
      const title = body.title ?? NEW_TITLE;
      if (model.tier !== 'restricted') {
        const row = await insertConversation(deps.pool, { userId: user.id, title, modelId: model.id });
        return { status: 201, body: { conversation: conversationView(row, row.title, false) } };
      }
      noStore(res);
      const id = randomUUID();
      const { key, stored } = dataKeysFor(deps.config).newDataKey(id);
      const row = await insertEncryptedConversation(deps.pool, { id, userId: user.id, titleCt: key.sealTitle(title), modelId: model.id, restrictedModels: [model.id], wrappedDek: stored.wrapped, kekId: stored.kekId });
      // Its title is shown back only under cover, like any restricted conversation's.
      const cover = await coverOf(deps, await sessionGrant(deps, { sessionId: req.sessionID, userId: user.id, context: audit }), row.restricted_models);
      return { status: 201, body: { conversation: conversationView(row, title, !cover.covered) } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/conversations/:id',
    access: 'signed-in',
    summary: 'One of your conversations with its messages (a restricted one only under a live grant covering it).',
    response: responds<ConversationResponse>(),
    params: IdParams,
    async handler({ req, res, user, params, deps, audit }) {
      noStore(res);
      const conversation = await ownConversation(deps, user.id, params.id);
      if (!isRestricted(conversation)) {
        const messages = await getMessages(deps.pool, conversation.id);
        return { body: { conversation: conversationView(conversation, conversation.title, false), messages: messages.map((m) => messageView(m, m.content ?? '')) } };
      }
      // The ciphertexts are read while the grant is checked (nothing of them leaves without cover),
      // and the read is recorded while they are decrypted: three waits overlapped, not added up.
      const stored = getMessages(deps.pool, conversation.id);
      stored.catch(() => undefined); // its failure is answered where it is awaited
      const { grant } = await requireCover(deps, { req, user, conversation, context: audit, lockedView: true });
      const recorded = recordRead(deps, audit, conversation, grant);
      recorded.catch(() => undefined);
      const key = conversationKey(deps, conversation);
      const view = conversationView(conversation, titleOf(deps, conversation, key), false);
      const messages = (await stored).map((m) => messageView(m, contentOf(deps, conversation.id, m, key)));
      // Shown only once the read is on the record.
      await recorded;
      return { body: { conversation: view, messages } };
    },
  }),

  defineRoute({
    method: 'patch',
    path: '/api/conversations/:id',
    access: 'signed-in',
    summary: 'Rename one of your conversations (a restricted one only under a live grant covering it; its title is stored encrypted).',
    response: responds<ConversationViewResponse>(),
    params: IdParams,
    body: z.strictObject({ title: Title }),
    async handler({ req, res, user, params, body, deps, audit }) {
      noStore(res);
      let conversation = await ownConversation(deps, user.id, params.id);
      if (isRestricted(conversation)) {
        await requireCover(deps, { req, user, conversation, context: audit });
        conversation = await encryptedBeforeChange(deps, user.id, conversation);
      }
      const row = await retitle(deps, { userId: user.id, conversationId: conversation.id, known: { key: conversationKey(deps, conversation) }, title: body.title });
      if (!row) throw notFound('No such conversation.');
      return { body: { conversation: conversationView(row, body.title, false) } };
    },
  }),

  defineRoute({
    method: 'delete',
    path: '/api/conversations/:id',
    access: 'signed-in',
    summary: 'Delete one of your conversations and its messages (no grant needed, restricted or not).',
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
      const { conversation, key, messages } = await conversationToAnswer(deps, { req, user, id: params.id, context: audit });
      const model = await enabledModel(deps, body.model);
      const earlier = messages.map((m) => ({ role: m.role, content: m.text }));
      const untitled = earlier.length === 0 && titleOf(deps, conversation, key) === NEW_TITLE;
      await answerInConversation(deps, {
        req, res, user, context: audit, conversation, key, model,
        messages: [...history(earlier), { role: 'user', content: body.content }],
        beforeAnswer: async (store) => {
          const questionId = await store('user', body.content);
          // Set only here, after the guards: for a restricted conversation, under the live grant they checked.
          return { userMessageId: questionId, title: untitled ? titleFrom(body.content) : undefined };
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
      const { conversation, key, messages } = await conversationToAnswer(deps, { req, user, id: params.id, context: audit, replacing: true });
      const model = await enabledModel(deps, body.model ?? conversation.model_id);
      const { replaced, kept } = lastExchange(messages, 'There is no question to answer again.');
      await answerInConversation(deps, {
        req, res, user, context: audit, conversation, key, model,
        messages: history(kept.map((m) => ({ role: m.role, content: m.text }))),
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
      const { conversation, key, messages } = await conversationToAnswer(deps, { req, user, id: params.id, context: audit, replacing: true });
      const model = await enabledModel(deps, body.model);
      const { replaced, kept, question } = lastExchange(messages, 'There is no question to edit.');
      // The same stream (and grant check) as a retry: nothing changes before the guards have passed.
      await answerInConversation(deps, {
        req, res, user, context: audit, conversation, key, model,
        messages: [...history(kept.slice(0, -1).map((m) => ({ role: m.role, content: m.text }))), { role: 'user', content: body.content }],
        beforeAnswer: async (store) => {
          if (replaced) await deleteMessage(deps.pool, replaced.id);
          await deleteMessage(deps.pool, question.id);
          return { userMessageId: await store('user', body.content) };
        },
      });
      return {};
    },
  }),
];
