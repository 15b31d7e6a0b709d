import { A } from '@solidjs/router';
import { ErrorBoundary, For, Show, Suspense, type Component } from 'solid-js';
import { Badge } from '../components/Badge.tsx';
import { PageTitle } from '../components/PageTitle.tsx';
import { sectionsFor } from '../access.ts';
import { useSession } from '../session.tsx';
import { SetupChecklist } from './admin/SetupChecklist.tsx';

export const Home: Component = () => {
  const session = useSession();

  return (
    <Show when={session.user()}>
      {(user) => (
        <>
          <PageTitle>Home</PageTitle>
          <p class="lead">
            Signed in as {user().displayName} (@{user().username})
          </p>
          <p class="role-line">
            Role: <Badge kind="role" value={user().role} />
          </p>
          <Show when={user().role === 'admin'}>
            {/* A first admin lands here: the setup steps come first. Without them the page still works. */}
            <ErrorBoundary fallback={null}>
              <Suspense>
                <SetupChecklist />
              </Suspense>
            </ErrorBoundary>
          </Show>
          <ul class="cards">
            <For each={sectionsFor(user().role)}>
              {(section) => (
                <li class="card">
                  <h2>
                    <A href={section.path}>{section.title}</A>
                  </h2>
                  <p>{section.summary}</p>
                </li>
              )}
            </For>
          </ul>
        </>
      )}
    </Show>
  );
};
