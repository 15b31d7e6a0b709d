import type { ModelListResponse } from '../../shared/api.ts';
import { getEnabledModels } from '../db/models.ts';
import { defineRoute, responds } from '../http/route.ts';
import { toModelView } from '../models/modelViews.ts';

export const modelRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/models',
    access: 'signed-in',
    summary: 'The models this user may use, with restricted ones marked locked or unlocked.',
    response: responds<ModelListResponse>(),
    async handler({ req, user, deps }) {
      const models = await getEnabledModels(deps.pool);
      // If Redis cannot say, restricted models show as locked (fail closed).
      const grant = await deps.grants.forSession(req.sessionID).catch(() => null);
      return { body: { models: models.map((model) => toModelView(model, grant?.userId === user.id ? grant : null)) } };
    },
  }),
];
