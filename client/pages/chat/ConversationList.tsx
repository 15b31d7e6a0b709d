import { A } from '@solidjs/router';
import { createUniqueId, For, Show, type Component } from 'solid-js';
import { CONVERSATION_TITLE_MAX, type ConversationView } from '../../../shared/api.ts';
import { deleteConversation, listConversations, renameConversation } from '../../api/conversations.ts';
import { ConfirmDialog, createConfirmation, type ConfirmRequest } from '../../components/ConfirmDialog.tsx';
import { DataBoundary } from '../../components/DataBoundary.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { InlineForm } from '../../components/InlineForm.tsx';
import { LoadMore } from '../../components/LoadMore.tsx';
import { RowButton } from '../../components/RowButton.tsx';
import { Time } from '../../components/Time.tsx';
import { createCursorPages } from '../../lib/cursorPages.ts';
import { useRowActions } from '../../lib/rowActions.ts';

export interface ConversationListProps {
  /** The conversation open now, marked as the current page. */
  currentId: string | undefined;
  onNew: () => void;
  onRenamed: (conversation: ConversationView) => void;
  onDeleted: (id: string) => void;
}

/** The saved conversations, newest activity first, with a way to start another. */
export const ConversationList: Component<ConversationListProps> = (props) => {
  const headingId = createUniqueId();
  const confirmation = createConfirmation();
  let newButton!: HTMLButtonElement;

  return (
    <section class="panel conversation-list" aria-labelledby={headingId}>
      <div class="panel-head">
        <h2 id={headingId}>Conversations</h2>
        <button type="button" ref={newButton} class="primary" onClick={() => props.onNew()}>
          New conversation
        </button>
      </div>
      <DataBoundary queryKey={listConversations.key}>
        <ConversationItems
          currentId={props.currentId}
          confirm={confirmation.confirm}
          onRenamed={(conversation) => props.onRenamed(conversation)}
          onDeleted={(id) => {
            // Its row is gone: the focus goes somewhere that stays.
            newButton.focus();
            props.onDeleted(id);
          }}
        />
      </DataBoundary>
      <ConfirmDialog request={confirmation.request()} onClose={confirmation.answer} />
    </section>
  );
};

interface ConversationItemsProps {
  currentId: string | undefined;
  confirm: (request: ConfirmRequest) => Promise<boolean>;
  onRenamed: (conversation: ConversationView) => void;
  onDeleted: (id: string) => void;
}

const ConversationItems: Component<ConversationItemsProps> = (props) => {
  const list = createCursorPages((after) => listConversations(after), 'id');
  const conversations = () => list.pages()?.flatMap((page) => page.conversations) ?? [];

  return (
    <>
      <Show when={conversations().length > 0} fallback={<p class="empty">No saved conversations yet.</p>}>
        <ul class="conversation-items" aria-busy={list.loadingMore()}>
          <For each={conversations()}>
            {(conversation) => (
              <ConversationItem
                conversation={conversation}
                current={conversation.id === props.currentId}
                confirm={props.confirm}
                onRenamed={props.onRenamed}
                onDeleted={props.onDeleted}
              />
            )}
          </For>
        </ul>
      </Show>
      <LoadMore list={list} />
    </>
  );
};

interface ConversationItemProps {
  conversation: ConversationView;
  current: boolean;
  confirm: (request: ConfirmRequest) => Promise<boolean>;
  onRenamed: (conversation: ConversationView) => void;
  onDeleted: (id: string) => void;
}

/**
 * One saved conversation: a link that opens it, and what can be done to it. Controls stay
 * enabled while a change is in flight (disabling would drop keyboard focus); a second click is ignored.
 */
const ConversationItem: Component<ConversationItemProps> = (props) => {
  const row = useRowActions({
    id: () => props.conversation.id,
    actions: { rename: renameConversation, remove: deleteConversation },
    confirm: (request) => props.confirm(request),
  });

  async function save(title: string) {
    if (row.busy() || title === '') return;
    if (title === props.conversation.title) return row.stopEditing();
    const renamed = await row.act(() => row.run.rename(props.conversation.id, title));
    if (renamed) {
      props.onRenamed(renamed.conversation);
      row.stopEditing();
    }
  }

  async function removeConversation() {
    const question = {
      title: `Delete “${props.conversation.title}”?`,
      message: 'The conversation and all its messages are deleted. This cannot be undone.',
      confirmLabel: 'Delete',
    };
    if (await row.act(() => row.run.remove(props.conversation.id), question)) props.onDeleted(props.conversation.id);
  }

  return (
    <li class="conversation-item" classList={{ current: props.current }} aria-busy={row.busy()}>
      <Show
        when={row.editing()}
        fallback={
          <>
            <A href={`/chat/${encodeURIComponent(props.conversation.id)}`} end id={row.headerId} class="conversation-link">
              {props.conversation.title}
            </A>
            <small class="muted">
              <Time value={props.conversation.updatedAt} />
            </small>
            <div class="row-actions" ref={row.actionsRef}>
              <RowButton describedBy={row.headerId} onClick={() => row.startEditing('title')}>Rename</RowButton>
              <RowButton describedBy={row.headerId} danger onClick={() => void removeConversation()}>Delete</RowButton>
            </div>
          </>
        }
      >
        <InlineForm
          label="New title"
          name="title"
          value={props.conversation.title}
          maxLength={CONVERSATION_TITLE_MAX}
          submitLabel="Save"
          onSubmit={(title) => void save(title)}
          onCancel={row.stopEditing}
        />
      </Show>
      <ErrorAlert error={row.error()} />
    </li>
  );
};
