import { json } from '@solidjs/router';
import { request } from './http.ts';
import { withStepUp } from './stepUp.ts';

/** The router queries that read differently after the change. */
type Revalidate = string | string[];

/**
 * A change the server makes only after a recent touch of a registered key: sent, and on
 * STEP_UP_REQUIRED stepped up and sent again (see withStepUp). Answers the server's answer
 * as the action's result.
 */
export async function changeWithStepUp<T>(options: {
  method: 'POST' | 'PATCH' | 'PUT';
  path: string;
  body: unknown;
  revalidate: Revalidate;
}) {
  const { method, path, body, revalidate } = options;
  const answer = await withStepUp(() => request<T>(method, path, { body }));
  return json(answer, { revalidate });
}

/**
 * DELETE, stepping up if the server asks for it. An action answering nothing counts as never
 * submitted, so the result is `done`, saying what happened ({ removed: id }).
 */
export async function deleteWithStepUp<D>(options: { path: string; done: D; revalidate: Revalidate }) {
  const { path, done, revalidate } = options;
  await withStepUp(() => request<void>('DELETE', path));
  return json(done, { revalidate });
}
