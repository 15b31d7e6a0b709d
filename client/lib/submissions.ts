import { useSubmission, useSubmissions, type Action } from '@solidjs/router';

/**
 * useSubmission for a step that can be shown more than once without a navigation (the
 * router keeps finished submissions until the next one): an earlier visit's error does not
 * greet the next.
 */
export function useFreshSubmission<T extends unknown[], U, V>(fn: Action<T, U, V>) {
  for (const earlier of [...useSubmissions(fn)]) if (!earlier.pending) earlier.clear();
  return useSubmission(fn);
}
