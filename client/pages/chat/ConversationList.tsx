import { DropdownMenu } from '@kobalte/core/dropdown-menu';
import { A } from '@solidjs/router';
import { createSignal, createUniqueId, For, Show, type Component } from 'solid-js';
import { CONVERSATION_TITLE_MAX, type ConversationView } from '../../../shared/api.ts';
import { deleteConversation, listConversations, renameConversation } from '../../api/conversations.ts';
import { ConfirmDialog, createConfirmation, type ConfirmRequest } from '../../components/ConfirmDialog.tsx';
import { DataBoundary } from '../../components/DataBoundary.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { InlineForm } from '../../components/InlineForm.tsx';
import { LoadMore } from '../../components/LoadMore.tsx';
import { createCursorPages } from '../../lib/cursorPages.ts';
import { useRowActions } from '../../lib/rowActions.ts';

export interface ConversationListProps {
  /** The conversation open now, marked as the current page. */
  currentId: string | undefined;
  onNew: () => void;
  onRenamed: (conversation: ConversationView) => void;
  onDeleted: (id: string) => void;
  /** A conversation link was followed (the drawer closes). */
  onOpened?: () => void;
}

/** The sidebar: a new chat, the saved conversations (newest activity first), a search by title. */
export const ConversationList: Component<ConversationListProps> = (props) => {
  const headingId = createUniqueId();
  const confirmation = createConfirmation();
  const [search, setSearch] = createSignal('');
  let newButton!: HTMLButtonElement;

  return (
    <section class="chat-sidebar-body" aria-labelledby={headingId}>
      <button type="button" ref={newButton} class="primary chat-new" onClick={() => props.onNew()}>
        <span aria-hidden="true">+</span> New chat
      </button>
      <h2 id={headingId} class="chat-sidebar-heading">
        Conversations
      </h2>
      <input
        type="search"
        class="chat-search"
        aria-label="Search conversations by title"
        placeholder="Search by title"
        autocomplete="off"
        value={search()}
        onInput={(event) => setSearch(event.currentTarget.value)}
      />
      <DataBoundary queryKey={listConversations.key}>
        <ConversationItems
          currentId={props.currentId}
          search={search().trim().toLocaleLowerCase()}
          confirm={confirmation.confirm}
          onOpened={() => props.onOpened?.()}
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
  /** Lower-case words a title must contain; empty shows all. */
  search: string;
  confirm: (request: ConfirmRequest) => Promise<boolean>;
  onOpened: () => void;
  onRenamed: (conversation: ConversationView) => void;
  onDeleted: (id: string) => void;
}

const ConversationItems: Component<ConversationItemsProps> = (props) => {
  const list = createCursorPages((after) => listConversations(after), 'id');
  const conversations = () => list.pages()?.flatMap((page) => page.conversations) ?? [];
  // Searches the titles loaded so far; "Load more" brings older ones into the search.
  const shown = () =>
    props.search === '' ? conversations() : conversations().filter((c) => c.title.toLocaleLowerCase().includes(props.search));

  return (
    <>
      <Show
        when={shown().length > 0}
        fallback={
          <p class="empty">{conversations().length === 0 ? 'No saved conversations yet.' : 'No conversation title matches.'}</p>
        }
      >
        <ul class="conversation-items" aria-busy={list.loadingMore()}>
          <For each={shown()}>
            {(conversation) => (
              <ConversationItem
                conversation={conversation}
                current={conversation.id === props.currentId}
                confirm={props.confirm}
                onOpened={props.onOpened}
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
  onOpened: () => void;
  onRenamed: (conversation: ConversationView) => void;
  onDeleted: (id: string) => void;
}

/** One saved conversation: a link that opens it, and a row menu to rename or delete it. */
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

  /** The menu's choice, acted on once the menu has closed and put the focus back on its button. */
  let chosen: 'rename' | 'delete' | undefined;
  function afterMenu(event: Event) {
    const action = chosen;
    chosen = undefined;
    if (action === 'rename') {
      // The title field takes the focus, not the menu button it replaces.
      event.preventDefault();
      row.startEditing('title');
    } else if (action === 'delete') {
      // Asked once the focus is back on the menu button: the answer returns it there.
      setTimeout(() => void removeConversation());
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
          <div class="conversation-row">
            <A
              href={`/chat/${encodeURIComponent(props.conversation.id)}`}
              end
              id={row.headerId}
              class="conversation-link"
              title={props.conversation.title}
              onClick={() => props.onOpened()}
            >
              {props.conversation.title}
            </A>
            <div class="conversation-menu" ref={row.actionsRef}>
              <DropdownMenu placement="bottom-end" gutter={4} modal={false}>
                <DropdownMenu.Trigger class="quiet icon-button row-menu-trigger" aria-label={`Actions for ${props.conversation.title}`}>
                  <span aria-hidden="true">⋯</span>
                </DropdownMenu.Trigger>
                <DropdownMenu.Portal>
                  <DropdownMenu.Content class="row-menu" onCloseAutoFocus={afterMenu}>
                    <DropdownMenu.Item class="row-menu-item" onSelect={() => (chosen = 'rename')}>
                      Rename
                    </DropdownMenu.Item>
                    <DropdownMenu.Item class="row-menu-item danger" onSelect={() => (chosen = 'delete')}>
                      Delete
                    </DropdownMenu.Item>
                  </DropdownMenu.Content>
                </DropdownMenu.Portal>
              </DropdownMenu>
            </div>
          </div>
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
