import type { ModelListResponse, ModelView } from '../../shared/api.ts';
import { getEnabledModels, type ModelRow } from '../db/models.ts';
import { defineRoute } from '../http/route.ts';
import type { Grant } from '../grants/grants.ts';

export function toModelView(model: ModelRow, grant: Grant | null): ModelView {
  return {
    id: model.id,
    displayName: model.display_name,
    description: model.description,
    tier: model.tier,
    demo: model.provider === 'demo',
    unlocked: model.tier === 'standard' || (grant?.models.includes(model.id) ?? false),
    requiresUserVerification: model.requires_user_verification,
    grantSeconds: model.grant_seconds,
  };
}

export const modelRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/models',
    access: 'signed-in',
    summary: 'The models this user may use, with restricted ones marked locked or unlocked.',
    async handler({ req, user, deps }) {
      const models = await getEnabledModels(deps.pool);
      // If Redis cannot say, restricted models show as locked (fail closed).
      const grant = await deps.grants.forSession(req.sessionID).catch(() => null);
      const body: ModelListResponse = { models: models.map((model) => toModelView(model, grant?.userId === user.id ? grant : null)) };
      return { body };
    },
  }),
];
