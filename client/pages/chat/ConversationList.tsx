import { A, useAction, useSubmission } from '@solidjs/router';
import { createSignal, createUniqueId, For, onMount, Show, type Component } from 'solid-js';
import { CONVERSATION_TITLE_MAX, type ConversationView } from '../../../shared/api.ts';
import { deleteConversation, listConversations, renameConversation } from '../../api/conversations.ts';
import { ConfirmDialog, createConfirmation, type ConfirmRequest } from '../../components/ConfirmDialog.tsx';
import { DataBoundary } from '../../components/DataBoundary.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Time } from '../../components/Time.tsx';
import { createCursorPages } from '../../lib/cursorPages.ts';
import { settled } from '../../lib/settled.ts';
import { LoadMore } from '../../components/LoadMore.tsx';

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
  const titleId = createUniqueId();
  const renaming = useSubmission(renameConversation, ([id]) => id === props.conversation.id);
  const deleting = useSubmission(deleteConversation, ([id]) => id === props.conversation.id);
  const rename = useAction(renameConversation);
  const remove = useAction(deleteConversation);
  const [editing, setEditing] = createSignal(false);
  const busy = () => Boolean(renaming.pending || deleting.pending);
  let renameButton: HTMLButtonElement | undefined;

  function startRename() {
    if (busy()) return;
    renaming.clear();
    deleting.clear();
    setEditing(true);
  }

  function stopRename() {
    setEditing(false);
    renameButton?.focus();
  }

  async function save(title: string) {
    if (busy()) return;
    if (title === props.conversation.title) return stopRename();
    const renamed = await settled(rename(props.conversation.id, title));
    if (renamed) {
      props.onRenamed(renamed.conversation);
      stopRename();
    }
  }

  async function removeConversation() {
    if (busy()) return;
    const confirmed = await props.confirm({
      title: `Delete “${props.conversation.title}”?`,
      message: 'The conversation and all its messages are deleted. This cannot be undone.',
      confirmLabel: 'Delete',
    });
    if (!confirmed) return;
    renaming.clear();
    const deleted = await settled(remove(props.conversation.id));
    if (deleted) props.onDeleted(props.conversation.id);
  }

  return (
    <li class="conversation-item" classList={{ current: props.current }} aria-busy={busy()}>
      <Show
        when={editing()}
        fallback={
          <>
            <A href={`/chat/${encodeURIComponent(props.conversation.id)}`} end id={titleId} class="conversation-link">
              {props.conversation.title}
            </A>
            <small class="muted">
              <Time value={props.conversation.updatedAt} />
            </small>
            <div class="row-actions">
              <button type="button" ref={renameButton} aria-describedby={titleId} onClick={startRename}>
                Rename
              </button>
              <button type="button" class="danger" aria-describedby={titleId} onClick={() => void removeConversation()}>
                Delete
              </button>
            </div>
          </>
        }
      >
        <RenameForm title={props.conversation.title} onSave={(title) => void save(title)} onCancel={stopRename} />
      </Show>
      <ErrorAlert error={renaming.error ?? deleting.error} />
    </li>
  );
};

interface RenameFormProps {
  title: string;
  onSave: (title: string) => void;
  onCancel: () => void;
}

/** The inline editor an item shows in place of its link. Escape cancels. */
const RenameForm: Component<RenameFormProps> = (props) => {
  let input!: HTMLInputElement;
  onMount(() => input.select());

  return (
    <form
      class="rename"
      onSubmit={(event) => {
        event.preventDefault();
        const title = input.value.trim();
        if (title !== '') props.onSave(title);
      }}
    >
      <input
        ref={input}
        name="title"
        aria-label="New title"
        value={props.title}
        maxLength={CONVERSATION_TITLE_MAX}
        autocomplete="off"
        required
        onKeyDown={(event) => {
          if (event.key === 'Escape') {
            event.preventDefault();
            props.onCancel();
          }
        }}
      />
      <button type="submit" class="primary">
        Save
      </button>
      <button type="button" onClick={() => props.onCancel()}>
        Cancel
      </button>
    </form>
  );
};
