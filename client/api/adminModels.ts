import { action, json, query } from '@solidjs/router';
import type {
  AdminModelListResponse,
  AdminModelView,
  CreateModelRequest,
  ModelTestResult,
  PendingChangeResponse,
  UpdateModelRequest,
} from '../../shared/api.ts';
import { request } from './http.ts';
import { withStepUp } from './stepUp.ts';

const modelPath = (id: string) => `/api/admin/models/${encodeURIComponent(id)}`;

/** GET /api/admin/models: the whole catalog with its settings. */
export const listAdminModels = query(
  () => request<AdminModelListResponse>('GET', '/api/admin/models'),
  'adminModels',
);

/** POST /api/admin/models (after a step-up touch if none is fresh). */
export const addModel = action(async (model: CreateModelRequest) => {
  const added = await withStepUp(() => request<{ model: AdminModelView }>('POST', '/api/admin/models', { body: model }));
  return json(added, { revalidate: listAdminModels.key });
}, 'addModel');

/**
 * PATCH /api/admin/models/:id: settings, or enabled. A new base URL or API-key variable may
 * answer a pending change instead (202): it waits for a second admin (the two-person rule).
 */
export const updateModel = action(async (id: string, changes: UpdateModelRequest) => {
  const updated = await withStepUp(() => request<{ model: AdminModelView } | PendingChangeResponse>('PATCH', modelPath(id), { body: changes }));
  // listPendingChanges' key (client/api/pendingChanges.ts): that module reads this one's list.
  return json(updated, { revalidate: 'pendingChange' in updated ? 'pendingChanges' : listAdminModels.key });
}, 'updateModel');

/** POST /api/admin/models/:id/test: ok with the latency, or what failed. */
export const testModel = action(async (id: string) => {
  const result = await withStepUp(() => request<ModelTestResult>('POST', `${modelPath(id)}/test`));
  return json(result, { revalidate: [] });
}, 'testModel');
