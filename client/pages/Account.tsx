import { Show, type Component } from 'solid-js';
import { Badge } from '../components/Badge.tsx';
import { PageTitle } from '../components/PageTitle.tsx';
import { Time } from '../components/Time.tsx';
import { useSession } from '../session.tsx';

export const Account: Component = () => {
  const session = useSession();

  return (
    <Show when={session.user()}>
      {(user) => (
        <section class="narrow">
          <PageTitle>Account</PageTitle>
          <dl class="facts card">
            <dt>Username</dt>
            <dd>{user().username}</dd>
            <dt>Display name</dt>
            <dd>{user().displayName}</dd>
            <dt>Role</dt>
            <dd>
              <Badge kind="role" value={user().role} />
            </dd>
            <dt>Member since</dt>
            <dd>
              <Time value={user().createdAt} />
            </dd>
            <Show when={session.expiresAt()}>
              {(expiresAt) => (
                <>
                  <dt>Session ends</dt>
                  <dd>
                    <Time value={expiresAt()} />
                  </dd>
                </>
              )}
            </Show>
          </dl>
        </section>
      )}
    </Show>
  );
};
