import { createAsync, revalidate, useNavigate, useParams, type RouteDefinition } from '@solidjs/router';
import { createEffect, createSignal, on, Show, type Component } from 'solid-js';
import type { ModelView } from '../../shared/api.ts';
import { listConversations } from '../api/conversations.ts';
import { listModels } from '../api/models.ts';
import { DataBoundary } from '../components/DataBoundary.tsx';
import { PageTitle } from '../components/PageTitle.tsx';
import { useModelAccess } from '../modelAccess.tsx';
import { AccessNotices } from './chat/AccessNotices.tsx';
import { AccessPanel } from './chat/AccessPanel.tsx';
import { createConversation } from './chat/conversation.ts';
import { ConversationList } from './chat/ConversationList.tsx';
import { ConversationPanel } from './chat/ConversationPanel.tsx';
import { ModelPicker } from './chat/ModelPicker.tsx';
import { PresencePanel } from './chat/PresencePanel.tsx';

export const route = {
  preload: () => {
    void listModels();
    void listConversations(null);
  },
} satisfies RouteDefinition;

/** A navigation within the chat screen that should leave the focus where the page puts it (see Layout). */
const KEEP_FOCUS = { state: { keepFocus: true } };

/**
 * Saved conversations, one open at a time (/chat/:id; /chat starts a new one with the first
 * message). Standard models open to everyone signed in; restricted ones while a touch of the
 * user's own key lasts.
 */
export const Chat: Component = () => {
  const access = useModelAccess();
  const params = useParams<{ id?: string }>();
  const navigate = useNavigate();
  const models = createAsync(() => listModels());
  const [chosenId, setChosenId] = createSignal<string>();
  let composer: HTMLTextAreaElement | undefined;

  // Kept here, above the data boundary, so a failed refetch of the model list loses no words.
  const conversation = createConversation({
    onGrantRequired: () => access.refused(),
    onCreated: (created) => navigate(`/chat/${encodeURIComponent(created.id)}`, KEEP_FOCUS),
    onOpened: (opened) => {
      // The conversation remembers its model; the picker follows it.
      setChosenId(opened.model);
      composer?.focus();
    },
    onChanged: () => void revalidate(listConversations.key),
  });
  createEffect(on(() => params.id, (id) => conversation.open(id)));

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
    if (params.id !== undefined) navigate('/chat', KEEP_FOCUS);
    composer?.focus();
  }

  return (
    <div class="chat">
      <PageTitle>Chat</PageTitle>
      <AccessNotices />
      <DataBoundary queryKey={listModels.key}>
        <div class="chat-layout">
          <div class="chat-side">
            <ConversationList
              currentId={conversation.id()}
              onNew={startNew}
              onRenamed={(renamed) => conversation.renamed(renamed)}
              onDeleted={(id) => {
                if (id === conversation.id()) navigate('/chat', KEEP_FOCUS);
              }}
            />
            <ModelPicker models={list()} selectedId={selected()?.id} onSelect={setChosenId} />
            <Show when={list().some((model) => model.tier === 'restricted')}>
              <AccessPanel wanted={locked() ? selected() : undefined} />
            </Show>
          </div>
          <ConversationPanel
            conversation={conversation}
            models={list()}
            model={selected()}
            locked={locked()}
            composerRef={(textarea) => (composer = textarea)}
          />
          <PresencePanel />
        </div>
      </DataBoundary>
    </div>
  );
};
