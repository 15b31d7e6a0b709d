import { A, useNavigate, type RouteSectionProps } from '@solidjs/router';
import { createEffect, createSignal, createUniqueId, For, on, onCleanup, Show, type Component } from 'solid-js';
import { ROLE_LABELS, sectionsFor } from '../access.ts';
import type { ConnectionState } from '../api/events.ts';
import { useEvents } from '../events.tsx';
import { StepUpDialog } from '../pages/account/StepUpPrompt.tsx';
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

/**
 * The app shell: a compact top bar (brand, navigation, connection, the person and Sign out)
 * of a fixed height, exported to CSS as --topbar-height (styles/shell.css) so a page can fill
 * what is left. On narrow screens the navigation and Sign out fold into a Menu button.
 */
export const Layout: Component<RouteSectionProps> = (props) => {
  const session = useSession();
  const navigate = useNavigate();
  const [signOutError, setSignOutError] = createSignal<unknown>();
  const [menuOpen, setMenuOpen] = createSignal(false);
  const menuId = createUniqueId();
  let main!: HTMLElement;
  let menuToggle: HTMLButtonElement | undefined;

  // Following a link of the folded menu closes it.
  createEffect(on(() => props.location.pathname, () => setMenuOpen(false), { defer: true }));
  // So does a click anywhere else.
  createEffect(() => {
    if (!menuOpen()) return;
    const outside = (event: PointerEvent) => {
      const target = event.target as Node | null;
      if (target && !document.getElementById(menuId)?.contains(target) && !menuToggle?.contains(target)) setMenuOpen(false);
    };
    document.addEventListener('pointerdown', outside);
    onCleanup(() => document.removeEventListener('pointerdown', outside));
  });

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
    setMenuOpen(false);
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
              <ConnectionIndicator />
              {/* Shown on narrow screens only (shell.css); wide ones show the menu's contents in the bar. */}
              <button
                type="button"
                class="menu-toggle quiet"
                ref={menuToggle}
                aria-expanded={menuOpen()}
                aria-controls={menuId}
                onClick={() => setMenuOpen((open) => !open)}
              >
                Menu
              </button>
              <div
                id={menuId}
                class="topbar-menu"
                classList={{ open: menuOpen() }}
                onKeyDown={(event) => {
                  if (event.key !== 'Escape' || !menuOpen()) return;
                  setMenuOpen(false);
                  menuToggle?.focus();
                }}
                onFocusOut={(event) => {
                  // Tabbing out of the open menu closes it, as leaving any disclosure does.
                  const next = event.relatedTarget;
                  if (menuOpen() && next instanceof Node && !event.currentTarget.contains(next) && next !== menuToggle) setMenuOpen(false);
                }}
              >
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
                  <span class="who-name" title={`Signed in as ${user().username}`}>
                    {user().displayName}
                  </span>
                  {/* Admins and auditors see other people's data: the bar says which hat they wear. */}
                  <Show when={user().role !== 'user'}>
                    <span class="who-role">{ROLE_LABELS[user().role]}</span>
                  </Show>
                  <button type="button" class="quiet" onClick={signOut}>
                    Sign out
                  </button>
                </div>
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
      <StepUpDialog />
    </>
  );
};
