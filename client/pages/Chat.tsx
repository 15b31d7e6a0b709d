import { Dialog } from '@kobalte/core/dialog';
import { createAsync, revalidate, useNavigate, useParams, type RouteDefinition } from '@solidjs/router';
import { createEffect, createSignal, on, onCleanup, onMount, Show, type Component } from 'solid-js';
import type { ModelView } from '../../shared/api.ts';
import { listConversations } from '../api/conversations.ts';
import { listModels } from '../api/models.ts';
import { DataBoundary } from '../components/DataBoundary.tsx';
import { PageTitle } from '../components/PageTitle.tsx';
import { useEvents } from '../events.tsx';
import { useModelAccess } from '../modelAccess.tsx';
import { createConversation } from './chat/conversation.ts';
import { ConversationList, type ConversationListProps } from './chat/ConversationList.tsx';
import { ConversationPanel } from './chat/ConversationPanel.tsx';
import { GrantChip } from './chat/GrantChip.tsx';
import { ModelPicker } from './chat/ModelPicker.tsx';
import { PresenceChip } from './chat/PresenceChip.tsx';
import { grantCovers, onGrantChange, type GrantModels } from './chat/restricted.ts';

export const route = {
  preload: () => {
    void listModels();
    void listConversations(null);
  },
} satisfies RouteDefinition;

/** A navigation within the chat screen that should leave the focus where the page puts it (see Layout). */
const KEEP_FOCUS = { state: { keepFocus: true } };

/** Below this width the sidebar is a drawer opened from the header. */
const DRAWER_QUERY = '(max-width: 50rem)';
const COLLAPSED_KEY = 'argus.chat.sidebarCollapsed';

/** Whether `query` matches, kept current. */
function createMediaQuery(query: string): () => boolean {
  const media = window.matchMedia(query);
  const [matches, setMatches] = createSignal(media.matches);
  const update = () => setMatches(media.matches);
  media.addEventListener('change', update);
  onCleanup(() => media.removeEventListener('change', update));
  return matches;
}

/**
 * The chat workspace: a narrow sidebar of saved conversations (a drawer on phones), the model
 * picker and the security chips in the header, the conversation filling the height below.
 * /chat/:id opens a conversation; /chat starts a new one with the first message. Standard
 * models are open to everyone signed in; restricted ones while a touch of the user's own key lasts.
 */
export const Chat: Component = () => {
  const access = useModelAccess();
  const events = useEvents();
  const params = useParams<{ id?: string }>();
  const navigate = useNavigate();
  const models = createAsync(() => listModels());
  const [chosenId, setChosenId] = createSignal<string>();
  const drawer = createMediaQuery(DRAWER_QUERY);
  const [drawerOpen, setDrawerOpen] = createSignal(false);
  let drawerButton: HTMLButtonElement | undefined;
  const [collapsed, setCollapsed] = createSignal(localStorage.getItem(COLLAPSED_KEY) === 'true');
  let chat!: HTMLDivElement;
  let composer: HTMLTextAreaElement | undefined;

  // The page fills the window below the app's top bar, however tall that bar wraps.
  onMount(() => {
    const place = () => chat.style.setProperty('--chat-top', `${Math.max(0, chat.getBoundingClientRect().top + window.scrollY)}px`);
    place();
    const observer = new ResizeObserver(place);
    const bar = document.querySelector('body > * > header, header.topbar');
    if (bar) observer.observe(bar);
    window.addEventListener('resize', place);
    onCleanup(() => {
      observer.disconnect();
      window.removeEventListener('resize', place);
    });
  });
  createEffect(() => localStorage.setItem(COLLAPSED_KEY, String(collapsed())));
  // Leaving phone width with the drawer open: the sidebar is back in place, the drawer goes.
  createEffect(on(drawer, (isDrawer) => !isDrawer && setDrawerOpen(false), { defer: true }));

  /** What this tab's grant unlocks, as restricted conversations are shown (see restricted.ts). */
  const grantModels = (): GrantModels => {
    const grant = access.grant();
    if (grant) return grant.view.models;
    return access.grantKnown() ? null : undefined;
  };

  // Kept here, above the data boundary, so a failed refetch of the model list loses no words.
  const conversation = createConversation({
    canRead: (opened) => grantCovers(grantModels(), opened),
    onGrantRequired: () => access.refused(),
    onCreated: (created) => navigate(`/chat/${encodeURIComponent(created.id)}`, KEEP_FOCUS),
    onOpened: (opened) => {
      // The conversation remembers its model; the picker follows it.
      setChosenId(opened.model);
      composer?.focus();
    },
    onLocked: (locked) => {
      // The picker shows the model it used: what a touch unlocks to read and continue it.
      if (locked.conversation.model !== '') setChosenId(locked.conversation.model);
    },
    onChanged: () => void revalidate(listConversations.key),
  });
  createEffect(on(() => params.id, (id) => conversation.open(id)));

  // The grant ended (expired, key pulled, revoked, locked by hand) or a new one came: a
  // restricted conversation open now loses its messages at once, or a locked one is read
  // again; the sidebar's titles follow from the server.
  createEffect(
    on(
      // Also when the grant first becomes known (none, say, though the page opened one readable).
      () => (access.grantKnown() ? (access.grant()?.view.id ?? null) : undefined),
      (_grantId, before) => {
        const action = onGrantChange({
          open: conversation.current(),
          locked: conversation.locked() !== undefined,
          grantModels: grantModels(),
        });
        if (action === 'lock') conversation.lock();
        else if (action === 'reveal') void conversation.reveal();
        // Just learnt, nothing changed since the list was read (and the masks cover a grant gone since).
        if (before !== undefined) void revalidate(listConversations.key);
      },
      { defer: true },
    ),
  );
  // The server's word that a grant ended (this tab may have locked first, before the server
  // knew): the list is asked again, so no restricted title stays even in memory.
  onCleanup(
    events.subscribe('GRANT_REVOKED', (event) => {
      // A renewal's replaced grant changes nothing a list would show.
      if (event.reason !== 'replaced') void revalidate(listConversations.key);
    }),
  );

  const list = (): ModelView[] => models()?.models ?? [];
  const selected = (): ModelView | undefined => {
    const all = list();
    return all.find((model) => model.id === chosenId()) ?? all.find((model) => model.tier === 'standard') ?? all[0];
  };
  const locked = () => {
    const model = selected();
    return model !== undefined && !access.isUnlocked(model);
  };

  // An error about the model picked before says nothing about the next one, and a refusal
  // for want of a grant is answered once the model is unlocked.
  createEffect(on(chosenId, () => conversation.clearError(), { defer: true }));
  createEffect(
    on(locked, (isLocked) => {
      if (!isLocked) conversation.clearError();
    }),
  );

  function startNew() {
    setDrawerOpen(false);
    if (params.id !== undefined) navigate('/chat', KEEP_FOCUS);
    composer?.focus();
  }

  const sidebar = (extra: Partial<ConversationListProps> = {}) => (
    <ConversationList
      currentId={conversation.id()}
      grantModels={grantModels()}
      onNew={startNew}
      onRenamed={(renamed) => conversation.renamed(renamed)}
      onDeleted={(id) => {
        if (id === conversation.id()) navigate('/chat', KEEP_FOCUS);
      }}
      {...extra}
    />
  );

  return (
    <div ref={chat} class="chat" classList={{ 'sidebar-collapsed': collapsed() && !drawer(), 'with-drawer': drawer() }}>
      <PageTitle>Chat</PageTitle>
      <Show when={!drawer() && !collapsed()}>
        <aside class="chat-sidebar" id="chat-sidebar" aria-label="Chats">
          {sidebar()}
        </aside>
      </Show>
      <Show when={drawer()}>
        <Dialog open={drawerOpen()} onOpenChange={setDrawerOpen}>
          <Dialog.Portal>
            <Dialog.Overlay class="chat-drawer-overlay" />
            <Dialog.Content
              class="chat-drawer"
              // The drawer opens from a header button outside the dialog: the focus goes back there.
              onCloseAutoFocus={(event) => {
                event.preventDefault();
                drawerButton?.focus();
              }}
            >
              <div class="chat-drawer-head">
                <Dialog.Title class="chat-drawer-title">Chats</Dialog.Title>
                <Dialog.CloseButton class="quiet icon-button" aria-label="Close chats">
                  ✕
                </Dialog.CloseButton>
              </div>
              {sidebar({ onOpened: () => setDrawerOpen(false) })}
            </Dialog.Content>
          </Dialog.Portal>
        </Dialog>
      </Show>
      <div class="chat-main">
        <div class="chat-header">
          <Show
            when={drawer()}
            fallback={
              <button
                type="button"
                class="quiet icon-button chat-sidebar-toggle"
                aria-label={collapsed() ? 'Show chats' : 'Hide chats'}
                aria-expanded={!collapsed()}
                aria-controls={collapsed() ? undefined : 'chat-sidebar'}
                onClick={() => setCollapsed(!collapsed())}
              >
                <span aria-hidden="true">☰</span>
              </button>
            }
          >
            <button
              ref={drawerButton}
              type="button"
              class="quiet icon-button chat-sidebar-toggle"
              aria-label="Open chats"
              aria-haspopup="dialog"
              onClick={() => setDrawerOpen(true)}
            >
              <span aria-hidden="true">☰</span>
            </button>
          </Show>
          <DataBoundary queryKey={listModels.key}>
            <ModelPicker models={list()} selectedId={selected()?.id} onSelect={setChosenId} />
            <div class="chat-chips">
              <Show when={list().some((model) => model.tier === 'restricted')}>
                <GrantChip />
              </Show>
              <PresenceChip />
            </div>
          </DataBoundary>
        </div>
        <DataBoundary queryKey={listModels.key}>
          <ConversationPanel
            conversation={conversation}
            models={list()}
            model={selected()}
            locked={locked()}
            composerRef={(textarea) => (composer = textarea)}
          />
        </DataBoundary>
      </div>
    </div>
  );
};
