import { isIP } from 'node:net';
import { z } from 'zod';
import type { AdminModelListResponse, AdminModelResponse, ModelTestResult, PendingChangeResponse } from '../../shared/api.ts';
import { getAllModels } from '../db/models.ts';
import { HttpError } from '../http/errors.ts';
import { defineRoute, responds } from '../http/route.ts';
import { addModel, changeModel, testModelConnection } from '../models/manageModels.ts';
import type { HostRefusal } from '../models/modelHosts.ts';
import { toAdminModelView } from '../models/modelViews.ts';
import { ModelChangeSchema, ModelId, NewModelSchema } from '../models/modelSettings.ts';
import { alreadyWaiting } from './pendingChangeAnswers.ts';
import { toPendingChangeView } from '../pendingChanges/pendingChangeView.ts';
import { gateModelChange } from '../pendingChanges/requestChange.ts';

const ADMIN = ['admin'] as const;
const ModelParams = z.strictObject({ id: ModelId });
const noSuchModel = (id: string) => new HttpError(404, 'MODEL_NOT_FOUND', `There is no model "${id}".`);

/** 400 MODEL_HOST_FORBIDDEN: the base URL reaches inside Argus's network (threat model G8). */
export function hostForbidden({ host, range }: HostRefusal): HttpError {
  const where = isIP(host) ? `${host} is an address` : `${host} resolves to an address`;
  const message = `${where} inside the network Argus runs in (${range}). Model servers there are refused unless MODEL_HOST_ALLOWLIST names the host (see the README).`;
  return new HttpError(400, 'MODEL_HOST_FORBIDDEN', message, { issues: [{ path: 'body.baseUrl', message }] });
}

export const adminModelRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/admin/models',
    access: ADMIN,
    summary: 'The whole model catalog with its settings (key variable names, never keys).',
    response: responds<AdminModelListResponse>(),
    async handler({ deps }) {
      return { body: { models: (await getAllModels(deps.pool)).map(toAdminModelView) } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/admin/models',
    access: ADMIN,
    stepUp: true,
    summary: 'Add a model to the catalog. Needs a fresh step-up.',
    response: responds<AdminModelResponse>(),
    body: NewModelSchema,
    async handler({ req, body, deps, audit }) {
      const result = await addModel(deps, { model: body, context: audit });
      if (!result.added && result.reason === 'host_forbidden') throw hostForbidden(result.refusal);
      if (!result.added) throw new HttpError(409, 'CONFLICT', `A model with the id "${body.id}" exists already.`);
      return { status: 201, body: { model: toAdminModelView(result.model) } };
    },
  }),

  defineRoute({
    method: 'patch',
    path: '/api/admin/models/:id',
    access: ADMIN,
    stepUp: true,
    summary:
      "Change a model's settings, or enable or disable it. Needs a fresh step-up. A new base URL or API-key variable waits for a second admin (202) while the two-person rule applies.",
    response: responds<AdminModelResponse | PendingChangeResponse>(),
    params: ModelParams,
    body: ModelChangeSchema,
    async handler({ req, params, body, user, deps, audit }) {
      // Threat model G9: whoever points a model elsewhere reads every prompt sent to it.
      const gate = await gateModelChange(deps, { requester: user, id: params.id, change: body, context: audit });
      if (gate.held === 'already_waiting') throw alreadyWaiting();
      if (gate.held) return { status: 202, body: { pendingChange: toPendingChangeView(gate.pendingChange) } };
      const result = 'refused' in gate ? gate.refused : await changeModel(deps, { id: params.id, change: body, context: audit, twoPersonRule: gate.note });
      if (result.changed) return { body: { model: toAdminModelView(result.model) } };
      switch (result.reason) {
        case 'not_found':
          throw noSuchModel(params.id);
        case 'host_forbidden':
          throw hostForbidden(result.refusal);
        case 'no_change':
          throw new HttpError(409, 'CONFLICT', 'The model already has these settings.');
        case 'invalid':
          throw new HttpError(400, 'VALIDATION_FAILED', `Please correct this: ${result.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}.`, {
            issues: result.issues.map((issue) => ({ ...issue, path: `body.${issue.path}` })),
          });
      }
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/admin/models/:id/test',
    access: ADMIN,
    // It spends the server's upstream credentials on the admin's behalf.
    stepUp: true,
    rateLimit: { name: 'model-test', points: 10, windowSeconds: 60 },
    summary: "Test connection: a tiny request to the model's server, timed. Needs a fresh step-up.",
    response: responds<ModelTestResult>(),
    params: ModelParams,
    async handler({ req, params, deps, audit }) {
      const result: ModelTestResult | null = await testModelConnection(deps, { id: params.id, context: audit });
      if (!result) throw noSuchModel(params.id);
      return { body: result };
    },
  }),
];
