import { A, useNavigate, type RouteSectionProps } from '@solidjs/router';
import { createEffect, createSignal, For, on, Show, type Component } from 'solid-js';
import { sectionsFor } from '../access.ts';
import type { ConnectionState } from '../api/events.ts';
import { useEvents } from '../events.tsx';
import { useSession } from '../session.tsx';
import { ErrorAlert } from './ErrorAlert.tsx';

const CONNECTION_LABELS: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Offline',
};

/** Whether live updates (revocations, key alerts) reach this tab: a quiet word, not an alarm. */
const ConnectionIndicator: Component = () => {
  const events = useEvents();
  return (
    <span
      class={`connection connection-${events.state()}`}
      data-testid="connection-state"
      title="Live updates from Argus"
    >
      {CONNECTION_LABELS[events.state()]}
    </span>
  );
};

export const Layout: Component<RouteSectionProps> = (props) => {
  const session = useSession();
  const navigate = useNavigate();
  const [signOutError, setSignOutError] = createSignal<unknown>();
  let main!: HTMLElement;

  // After a navigation, focus the new page's heading so keyboard and screen reader users start there.
  createEffect(
    on(
      () => props.location.pathname,
      () => {
        // A page moving within itself (the chat opening a conversation it just created) keeps its focus.
        if ((props.location.state as { keepFocus?: boolean } | null)?.keepFocus) return;
        // A link that stays on screen and leads where we are now (a tab of the admin console)
        // keeps the focus: the person moves within one page and goes on from that link.
        const followed = document.activeElement;
        if (followed instanceof HTMLAnchorElement && main.contains(followed) && followed.pathname === props.location.pathname) return;
        main.querySelector<HTMLElement>('h1')?.focus();
      },
      { defer: true },
    ),
  );

  async function signOut() {
    setSignOutError(undefined);
    try {
      await session.signOut();
      navigate('/signin', { replace: true });
    } catch (error) {
      setSignOutError(error);
    }
  }

  return (
    <>
      {/* The first Tab stop: past the navigation, straight to the page (WCAG 2.4.1). */}
      <a
        class="skip-link"
        href="#main"
        on:click={(event) => {
          // Before the router's own link handling: this is a jump within the page, not a navigation.
          event.preventDefault();
          main.focus();
        }}
      >
        Skip to content
      </a>
      <header class="topbar">
        <A href="/" class="brand" end>
          Argus
        </A>
        <Show when={session.user()}>
          {(user) => (
            <>
              <nav aria-label="Main">
                <ul>
                  <li>
                    <A href="/" end>
                      Home
                    </A>
                  </li>
                  <For each={sectionsFor(user().role)}>
                    {(section) => (
                      <li>
                        <A href={section.path}>{section.title}</A>
                      </li>
                    )}
                  </For>
                </ul>
              </nav>
              <div class="who">
                <ConnectionIndicator />
                <span class="who-name">{user().displayName}</span>
                <button type="button" class="quiet" onClick={signOut}>
                  Sign out
                </button>
              </div>
            </>
          )}
        </Show>
      </header>
      <Show when={signOutError()}>
        <div class="topbar-alert">
          <ErrorAlert error={signOutError()} />
        </div>
      </Show>
      <main id="main" ref={main} tabIndex={-1}>
        {props.children}
      </main>
    </>
  );
};
