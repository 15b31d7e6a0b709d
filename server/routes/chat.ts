import type { Response } from 'express';
import { z } from 'zod';
import type { GrantEndReason } from '../../shared/api.ts';
import type { ChatStreamEvent } from '../../shared/events.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { getModel } from '../db/models.ts';
import { withTransaction } from '../db/pool.ts';
import type { Deps } from '../deps.ts';
import type { Grant } from '../grants/grants.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute } from '../http/route.ts';
import { streamDemo } from '../models/demoProvider.ts';

const MAX_MESSAGE_CHARS = 32_000;

const ChatBody = z.strictObject({
  model: z.string().min(1).max(64),
  messages: z
    .array(z.strictObject({ role: z.enum(['user', 'assistant', 'system']), content: z.string().min(1, 'A message cannot be empty.').max(MAX_MESSAGE_CHARS, `A message can be at most ${MAX_MESSAGE_CHARS} characters.`) }))
    .min(1)
    .max(200)
    .refine((messages) => messages.reduce((n, m) => n + m.content.length, 0) <= 200_000, 'The conversation is too long for one request.'),
});

async function audit(deps: Pick<Deps, 'pool' | 'log'>, context: AuditContext, input: Parameters<typeof recordAuditEvent>[2]): Promise<void> {
  await withTransaction(deps.pool, (client) => recordAuditEvent(client, context, input));
}

/**
 * Checks the grant for a restricted model: on the server, on every request, failing closed
 * when Redis cannot answer (DESIGN.md invariants 3 and 4). Denials are audited.
 */
export async function requireModelGrant(deps: Deps, { sessionId, userId, modelId, context }: { sessionId: string; userId: string; modelId: string; context: AuditContext }): Promise<Grant> {
  let check;
  try {
    check = await deps.grants.check(sessionId, userId, modelId);
  } catch (error) {
    deps.log.error({ err: (error as Error).message }, 'grant check failed: denying');
    await audit(deps, context, { action: 'grant.denied', outcome: 'denied', model: modelId, details: { reason: 'grant_store_unavailable' } }).catch(() => undefined);
    throw new HttpError(503, 'GRANT_CHECK_UNAVAILABLE', 'Access to restricted models cannot be checked right now, so it is denied. Try again shortly.');
  }
  if (!check.allowed) {
    await audit(deps, context, { action: 'grant.denied', outcome: 'denied', model: modelId, details: { reason: check.reason } });
    throw new HttpError(403, 'GRANT_REQUIRED', 'Unlock restricted models with your security key to use this model.');
  }
  return check.grant;
}

function send(res: Response, event: ChatStreamEvent): void {
  res.write(`data: ${JSON.stringify(event)}\n\n`);
}

export const chatRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/chat/stream',
    access: 'signed-in',
    summary: "Stream a model's answer as Server-Sent Events. Restricted models need a live grant, watched for the whole stream.",
    body: ChatBody,
    async handler({ req, res, user, body, deps, audit: context }) {
      const model = await getModel(deps.pool, body.model);
      if (!model || !model.enabled) throw new HttpError(404, 'MODEL_NOT_FOUND', `There is no model "${body.model}".`);
      const grant = model.tier === 'restricted' ? await requireModelGrant(deps, { sessionId: req.sessionID, userId: user.id, modelId: model.id, context }) : null;
      if (grant) await audit(deps, context, { action: 'model.access', outcome: 'success', model: model.id, target: { type: 'grant', id: grant.id } });

      const controller = new AbortController();
      // Why the stream was cut, if it was (set from the listeners below).
      const cut: { reason: GrantEndReason | 'stopped' | null } = { reason: null };
      const stop = (reason: GrantEndReason | 'stopped') => {
        if (controller.signal.aborted) return;
        cut.reason = reason;
        controller.abort();
      };
      // The stream obeys the grant to the last token: revocation on any node, or expiry. A
      // renewal replaces the grant; the stream then follows the new one if it covers the model.
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

      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' });
      res.flushHeaders();
      try {
        const tokens = streamDemo(model.display_name, { messages: body.messages, maxTokens: model.max_output_tokens, signal: controller.signal });
        let next = await tokens.next();
        while (!next.done) {
          send(res, { type: 'delta', text: next.value });
          next = await tokens.next();
        }
        const ending: ChatStreamEvent = cut.reason ? { type: 'cut', reason: cut.reason } : { type: 'done', finishReason: next.value };
        if (!res.writableEnded && !res.destroyed) send(res, ending);
        const cutReason = cut.reason;
        if (grant && cutReason && cutReason !== 'stopped') {
          await audit(deps, context, {
            action: 'model.stream_cut',
            outcome: 'denied',
            model: model.id,
            target: { type: 'grant', id: grant.id },
            details: { reason: cutReason },
          }).catch((error: unknown) => deps.log.error({ err: error }, 'stream cut not audited'));
        }
      } catch (error) {
        deps.log.error({ err: error }, 'chat stream failed');
        if (!res.writableEnded) send(res, { type: 'error', code: 'INTERNAL', message: 'The answer stopped because of an error on our side.' });
      } finally {
        unsubscribe();
        if (expiry) clearTimeout(expiry);
        res.end();
      }
      return {};
    },
  }),
];
