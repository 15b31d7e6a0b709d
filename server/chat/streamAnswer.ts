import type { Request, Response } from 'express';
import type { ChatMessage, GrantEndReason, MessageStatus } from '../../shared/api.ts';
import type { ChatStreamEvent } from '../../shared/events.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { getKeyById } from '../db/keys.ts';
import type { ModelRow } from '../db/models.ts';
import type { UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';
import type { Grant } from '../grants/grants.ts';
import { claimStreamSlot, type SlotRefusal } from './streamSlots.ts';
import { ProviderError, streamCompletion, type Usage } from '../models/providers.ts';
import { modelHostGuard } from '../models/modelHosts.ts';
import { grantEndText } from './grantEndText.ts';

/** How an answer ended, for storing it. */
export interface AnswerOutcome {
  content: string;
  status: Exclude<MessageStatus, 'streaming'>;
  note: string | null;
  usage: Usage | null;
}

/**
 * Why a restricted model is refused: the grant store cannot answer (fail closed), there is no
 * live grant covering the model, or the key that made the grant is no longer active.
 */
export type GrantRefusal = 'grant_check_unavailable' | 'no_grant' | 'key_not_active';

export type ModelGrantCheck = { allowed: true; grant: Grant } | { allowed: false; reason: GrantRefusal };

/**
 * Checks the grant for a restricted model: on the server, on every request, failing closed
 * when Redis cannot answer (docs/architecture.md invariants 3 and 4). Denials are audited.
 */
export async function checkModelGrant(deps: Deps, { sessionId, userId, modelId, context }: { sessionId: string; userId: string; modelId: string; context: AuditContext }): Promise<ModelGrantCheck> {
  let check;
  try {
    check = await deps.grants.check(sessionId, userId, modelId);
  } catch (error) {
    deps.log.error({ err: (error as Error).message }, 'grant check failed: denying');
    await recordAuditEvent(deps.pool, context, { action: 'grant.denied', outcome: 'denied', model: modelId, details: { reason: 'grant_store_unavailable' } }).catch(() => undefined);
    return { allowed: false, reason: 'grant_check_unavailable' };
  }
  if (!check.allowed) {
    await recordAuditEvent(deps.pool, context, { action: 'grant.denied', outcome: 'denied', model: modelId, details: { reason: check.reason } });
    return { allowed: false, reason: 'no_grant' };
  }
  if (!(await grantKeyStillActive(deps, { grant: check.grant, userId, modelId, context }))) return { allowed: false, reason: 'key_not_active' };
  return { allowed: true, grant: check.grant };
}

/**
 * Whether the key that made a live grant is still active and this user's. If not, the grant is
 * ended and the refusal audited. Also used for reading restricted conversations
 * (server/conversations/conversationCover.ts).
 */
export async function grantKeyStillActive(deps: Deps, { grant, userId, modelId, context }: { grant: Grant; userId: string; modelId: string | null; context: AuditContext }): Promise<boolean> {
  // Revocation happens in Redis after the key change commits in Postgres. Should that step be
  // lost (Redis failing in between), or a grant be written just after its key was deactivated,
  // the grant would outlive its key: so the key is checked here too (threat-model G2, G3).
  const key = await deps.rows.keys.get(grant.keyId, (id) => getKeyById(deps.pool, id));
  if (key && key.status === 'active' && key.user_id === userId) return true;
  const reason: GrantEndReason = !key ? 'key_deleted' : key.user_id !== userId ? 'key_reassigned' : key.status === 'suspended' ? 'key_suspended' : 'key_deactivated';
  await deps.grants.end(grant.id, reason, context).catch((error: unknown) => deps.log.error({ err: error }, 'grant of an inactive key not ended'));
  await recordAuditEvent(deps.pool, context, { action: 'grant.denied', outcome: 'denied', model: modelId, target: { type: 'security_key', id: grant.keyId }, details: { reason: 'key_not_active' } });
  return false;
}

/** The answer was streamed (its outcome is returned for storing), or refused before any byte of it. */
/** Why an answer was refused before it started: the grant, or the user's chat limits. */
export type AnswerRefusal = { reason: GrantRefusal } | SlotRefusal;

export type StreamAnswerResult = { streamed: true; outcome: AnswerOutcome } | ({ streamed: false } & AnswerRefusal);

/**
 * Writes one event. Tokens that arrive together leave together: node:http corks the socket at
 * a response's first write in a tick and uncorks it on the next, so it is one write (and one
 * TCP segment) per tick, not per token, with no corking of our own.
 */
function send(res: Response, event: ChatStreamEvent): void {
  if (res.writableEnded || res.destroyed) return;
  res.write(eventText(event));
}

/** A `delta` event, the one sent per token. */
function sendDelta(res: Response, text: string): void {
  if (res.writableEnded || res.destroyed) return;
  res.write(deltaEventText(text));
}

/** One Server-Sent Event carrying `event`. */
export function eventText(event: ChatStreamEvent): string {
  return `data: ${JSON.stringify(event)}\n\n`;
}

/** eventText({ type: 'delta', text }), with only the token to encode rather than an object built and walked per token. */
export function deltaEventText(text: string): string {
  return `data: {"type":"delta","text":${JSON.stringify(text)}}\n\n`;
}

/**
 * Streams a model's answer as Server-Sent Events. Guards first (grant for restricted
 * models, per-user limits): a refused grant is returned, before any byte of the stream, for
 * the route to answer. Then the stream obeys the grant to the last token: revocation on any
 * node, session end or expiry cut it; a renewal hands it to the new grant.
 */
export async function streamAnswer(
  deps: Deps,
  {
    req,
    res,
    user,
    model,
    messages,
    context,
    beforeStream,
    afterStream,
    restricted = false,
  }: {
    req: Request;
    res: Response;
    user: UserRow;
    model: ModelRow;
    messages: ChatMessage[];
    context: AuditContext;
    /** Runs after the guards, before the first byte: returns the `start` event (conversation ids), if any. */
    beforeStream?: () => Promise<ChatStreamEvent | null>;
    /** Runs with the outcome before the stream closes, so a client that reloads finds it stored. */
    afterStream?: (outcome: AnswerOutcome) => Promise<void>;
    /** The stream carries restricted content even if the model is standard (a restricted conversation): never cached. */
    restricted?: boolean;
  },
): Promise<StreamAnswerResult> {
  // The stream slot is claimed while the grant is checked: two Redis round trips at once, not one
  // after the other. A request the grant check refuses gives its slot straight back (it still
  // counts in the per-minute window, as every refused request does).
  const claimed = claimStreamSlot(deps.redis, deps.config.chat, user.id);
  claimed.catch(() => undefined); // a failure is answered where it is awaited, not as an unhandled rejection meanwhile
  const giveBack = () => claimed.then((slot) => (slot.claimed ? slot.release() : undefined), () => undefined);
  let grant: Grant | null = null;
  if (model.tier === 'restricted') {
    const check = await checkModelGrant(deps, { sessionId: req.sessionID, userId: user.id, modelId: model.id, context }).catch(async (error: unknown) => {
      await giveBack();
      throw error;
    });
    if (!check.allowed) {
      await giveBack();
      return { streamed: false, reason: check.reason };
    }
    grant = check.grant;
  }
  const slot = await claimed;
  if (!slot.claimed) {
    const { claimed: _refused, ...refusal } = slot;
    return { streamed: false, ...refusal };
  }
  const release = slot.release;
  try {
    const controller = new AbortController();
    const cut: { reason: GrantEndReason | 'stopped' | null } = { reason: null };
    let answered = false;
    const stop = (reason: GrantEndReason | 'stopped') => {
      // Once the answer is complete there is nothing left to stop (the response's close is not a cut).
      if (controller.signal.aborted || answered) return;
      cut.reason = reason;
      controller.abort();
    };
    let expiry: NodeJS.Timeout | null = null;
    const watchExpiry = (watched: Grant) => {
      if (expiry) clearTimeout(expiry);
      expiry = setTimeout(() => stop('expired'), Math.max(0, watched.expiresAt - Date.now()));
    };
    let watched = grant;
    const onRevoked = async (reason: GrantEndReason) => {
      const renewed = reason === 'replaced' ? await deps.grants.forSession(req.sessionID).catch(() => null) : null;
      if (renewed && renewed.models.includes(model.id)) {
        watched = renewed;
        watchExpiry(renewed);
      } else stop(reason);
    };
    const unsubscribe = grant
      ? deps.bus.on(({ target, event }) => {
          if (!('sessionId' in target) || target.sessionId !== req.sessionID) return;
          if (event.type === 'GRANT_REVOKED' && event.grantId === watched?.id) void onRevoked(event.reason);
          if (event.type === 'SESSION_ENDED') stop('session_ended');
        })
      : () => undefined;
    if (grant) watchExpiry(grant);
    res.on('close', () => stop('stopped'));

    // The upstream request goes out now, and the answer reaches the client only after the access
    // record and the conversation's rows are stored: they overlap the model's connect and think
    // time. Text that arrives meanwhile is kept and leaves first, in one event.
    let content = '';
    let streaming = false;
    const answer = streamCompletion(model, {
      messages,
      maxTokens: model.max_output_tokens,
      signal: controller.signal,
      timeoutMs: deps.config.chat.modelTimeoutSeconds * 1000,
      // Every upstream connection is checked against MODEL_HOST_ALLOWLIST as it is made (G8).
      hosts: modelHostGuard(deps.config),
      onText: (text) => {
        content += text;
        if (streaming) sendDelta(res, text);
      },
    });
    answer.catch(() => undefined); // its failure is handled where it is awaited
    let start: ChatStreamEvent | null;
    try {
      // details.grantId: the grant this use ran under, which a presence proof checks it against (docs/presence-proofs.md).
      if (grant) await recordAuditEvent(deps.pool, context, { action: 'model.access', outcome: 'success', model: model.id, target: { type: 'grant', id: grant.id }, details: { grantId: grant.id } });
      start = beforeStream ? await beforeStream() : null;
    } catch (error) {
      stop('stopped');
      unsubscribe();
      if (expiry) clearTimeout(expiry);
      await answer.catch(() => undefined);
      throw error;
    }

    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    // A restricted answer is never kept by the browser or a proxy (issue #21).
    res.setHeader('Cache-Control', restricted || model.tier === 'restricted' ? 'no-store, no-transform' : 'no-cache, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    // The headers leave on their own once the upstream request is on the wire (it is written on
    // the next tick): writing them is work (the session cookie is signed then) that would
    // otherwise delay the model's request. The first event takes them along if it comes sooner.
    setImmediate(() => {
      if (!res.headersSent && !res.destroyed) res.flushHeaders();
    });
    if (start) send(res, start);
    if (content) sendDelta(res, content);
    streaming = true;

    let outcome: AnswerOutcome;
    try {
      const completion = await answer;
      if (cut.reason) {
        send(res, { type: 'cut', reason: cut.reason });
        outcome = { content, status: 'cut_off', note: grantEndText(cut.reason), usage: completion.usage };
      } else {
        send(res, { type: 'done', finishReason: completion.finishReason });
        outcome = { content, status: 'complete', note: completion.finishReason === 'length' ? 'Stopped at the length limit.' : null, usage: completion.usage };
      }
    } catch (error) {
      if (!(error instanceof ProviderError)) deps.log.error({ err: error }, 'chat stream failed');
      const failure = error instanceof ProviderError ? error : new ProviderError('MODEL_ERROR', 'The answer stopped because of an error on our side.');
      if (error instanceof ProviderError) deps.log.warn({ code: error.code, model: model.id, err: (error.cause as Error | undefined)?.message }, 'model provider failed');
      send(res, { type: 'error', code: failure.code, message: failure.message });
      outcome = { content, status: 'error', note: failure.message, usage: null };
    } finally {
      answered = true;
      unsubscribe();
      if (expiry) clearTimeout(expiry);
    }
    await afterStream?.(outcome).catch((error: unknown) => deps.log.error({ err: error }, 'answer not stored'));
    res.end();
    if (watched && cut.reason && cut.reason !== 'stopped') {
      // The grant the stream ran under when it was cut: a renewal may have taken it over from the first.
      await recordAuditEvent(deps.pool, context, { action: 'model.stream_cut', outcome: 'denied', model: model.id, target: { type: 'grant', id: watched.id }, details: { reason: cut.reason, grantId: watched.id } }).catch(
        (error: unknown) => deps.log.error({ err: error }, 'stream cut not audited'),
      );
    }
    return { streamed: true, outcome };
  } finally {
    await release();
  }
}
