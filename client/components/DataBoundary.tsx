import { revalidate } from '@solidjs/router';
import { ErrorBoundary, Suspense, type Component, type JSX } from 'solid-js';
import { LoadFailed } from './ErrorAlert.tsx';
import { Loading } from './Loading.tsx';

/**
 * Where data loads: "Loading…" while it comes, the failure and "Try again" if it does not.
 * `queryKey` names the queries read inside, so a retry fetches them afresh.
 */
export const DataBoundary: Component<{ queryKey: string; children: JSX.Element }> = (props) => (
  <ErrorBoundary
    fallback={(error, reset) => (
      <LoadFailed error={error} onRetry={() => void revalidate(props.queryKey).then(reset)} />
    )}
  >
    <Suspense fallback={<Loading />}>{props.children}</Suspense>
  </ErrorBoundary>
);
