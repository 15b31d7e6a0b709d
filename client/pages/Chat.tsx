import { createAsync, type RouteDefinition } from '@solidjs/router';
import { createEffect, createSignal, on, Show, type Component } from 'solid-js';
import type { ModelView } from '../../shared/api.ts';
import { listModels } from '../api/models.ts';
import { DataBoundary } from '../components/DataBoundary.tsx';
import { PageTitle } from '../components/PageTitle.tsx';
import { useModelAccess } from '../modelAccess.tsx';
import { AccessNotices } from './chat/AccessNotices.tsx';
import { AccessPanel } from './chat/AccessPanel.tsx';
import { ConversationPanel } from './chat/ConversationPanel.tsx';
import { createConversation } from './chat/conversation.ts';
import { ModelPicker } from './chat/ModelPicker.tsx';
import { PresencePanel } from './chat/PresencePanel.tsx';

export const route = {
  preload: () => {
    void listModels();
  },
} satisfies RouteDefinition;

/** Standard models open to everyone signed in; restricted ones while a touch of the user's own key lasts. */
export const Chat: Component = () => {
  const access = useModelAccess();
  const models = createAsync(() => listModels());
  const [chosenId, setChosenId] = createSignal<string>();
  // Kept here, above the data boundary, so a failed refetch of the model list loses no words.
  const conversation = createConversation({ onGrantRequired: () => access.refused() });

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

  return (
    <div class="chat">
      <PageTitle>Chat</PageTitle>
      <AccessNotices />
      <DataBoundary queryKey={listModels.key}>
        <div class="chat-layout">
          <div class="chat-side">
            <ModelPicker models={list()} selectedId={selected()?.id} onSelect={setChosenId} />
            <Show when={list().some((model) => model.tier === 'restricted')}>
              <AccessPanel wanted={locked() ? selected() : undefined} />
            </Show>
          </div>
          <ConversationPanel conversation={conversation} model={selected()} locked={locked()} />
          <PresencePanel />
        </div>
      </DataBoundary>
    </div>
  );
};
