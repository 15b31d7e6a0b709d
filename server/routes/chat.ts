import { z } from 'zod';
import { MESSAGE_MAX_CHARS } from '../../shared/api.ts';
import { streamAnswer, type AnswerRefusal } from '../chat/streamAnswer.ts';
import { getModel } from '../db/models.ts';
import type { Deps } from '../deps.ts';
import { HttpError, rateLimited } from '../http/errors.ts';
import { defineRoute } from '../http/route.ts';

export const MessageContent = z
  .string()
  .trim()
  .min(1, 'A message cannot be empty.')
  .max(MESSAGE_MAX_CHARS, `A message can be at most ${MESSAGE_MAX_CHARS} characters.`);

const ChatBody = z.strictObject({
  model: z.string().min(1).max(64),
  messages: z
    .array(z.strictObject({ role: z.enum(['user', 'assistant', 'system']), content: MessageContent }))
    .min(1)
    .max(200)
    .refine((messages) => messages.reduce((n, m) => n + m.content.length, 0) <= 200_000, 'The conversation is too long for one request.'),
});

export async function enabledModel({ pool, rows }: Pick<Deps, 'pool' | 'rows'>, id: string) {
  const model = await rows.models.get(id, (modelId) => getModel(pool, modelId));
  if (!model || !model.enabled) throw new HttpError(404, 'MODEL_NOT_FOUND', `There is no model "${id}".`);
  return model;
}

/**
 * A refused answer: the user's chat limits (429 with Retry-After), or a refused restricted
 * model (docs/architecture.md invariants 3 and 4).
 */
export function answerRefusalError(refusal: AnswerRefusal): HttpError {
  if (refusal.reason === 'rate_limited') return rateLimited(refusal.retryAfterSeconds, 'You are sending messages too fast. Wait a moment.');
  if (refusal.reason === 'too_many_streams') {
    return new HttpError(429, 'TOO_MANY_STREAMS', `You can have at most ${refusal.maxStreams} answers streaming at once.`, { retryAfter: 5 });
  }
  switch (refusal.reason) {
    case 'grant_check_unavailable':
      return new HttpError(503, 'GRANT_CHECK_UNAVAILABLE', 'Access to restricted models cannot be checked right now, so it is denied. Try again shortly.');
    case 'no_grant':
      return new HttpError(403, 'GRANT_REQUIRED', 'Unlock restricted models with your security key to use this model.');
    case 'key_not_active':
      return new HttpError(403, 'GRANT_REQUIRED', 'The security key that unlocked this model is no longer active. Unlock again with an active key.');
  }
}

export const chatRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/chat/stream',
    access: 'signed-in',
    summary: "Stream a model's answer to the given messages (nothing stored) as Server-Sent Events.",
    body: ChatBody,
    async handler({ req, res, user, body, deps, audit }) {
      const model = await enabledModel(deps, body.model);
      const result = await streamAnswer(deps, { req, res, user, model, messages: body.messages, context: audit });
      if (!result.streamed) throw answerRefusalError(result);
      return {};
    },
  }),
];
