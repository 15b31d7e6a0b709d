import { A, Navigate, type RouteSectionProps } from '@solidjs/router';
import { Match, Show, Switch, type Component } from 'solid-js';
import { mayOpen } from '../access.ts';
import { useSession } from '../session.tsx';
import { LoadFailed } from './ErrorAlert.tsx';
import { Loading } from './Loading.tsx';
import { PageTitle } from './PageTitle.tsx';

const NoAccess: Component = () => (
  <section class="narrow">
    <PageTitle>You do not have access to this page</PageTitle>
    <p>Your role does not include this section. If you need it, ask an administrator.</p>
    <p>
      <A href="/">Back to Home</A>
    </p>
  </section>
);

/**
 * The gate in front of every signed-in page: visitors go to sign-in (and come back after),
 * roles without the section see why they cannot. The server enforces the same rules.
 */
export const RequireSession: Component<RouteSectionProps> = (props) => {
  const session = useSession();
  const signInHref = () =>
    `/signin?next=${encodeURIComponent(props.location.pathname + props.location.search)}`;

  return (
    <Switch fallback={<Navigate href={signInHref()} />}>
      <Match when={session.user()}>
        {(user) => (
          <Show when={mayOpen(user().role, props.location.pathname)} fallback={<NoAccess />}>
            {props.children}
          </Show>
        )}
      </Match>
      <Match when={session.loading()}>
        <Loading />
      </Match>
      <Match when={session.error()}>
        {(error) => <LoadFailed error={error()} onRetry={session.refresh} />}
      </Match>
    </Switch>
  );
};
