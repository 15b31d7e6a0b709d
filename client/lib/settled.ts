/**
 * Awaits an action called through `useAction` whose failure the page already shows from
 * `useSubmission(...).error`: resolves to the result, or to undefined when it failed.
 */
export function settled<T>(pending: Promise<T>): Promise<T | undefined> {
  return pending.catch(() => undefined);
}
