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
import { createNow, exactTime, relativeTime } from '../../lib/relativeTime.ts';
import { useRowActions } from '../../lib/rowActions.ts';
import { LockIcon } from './LockIcon.tsx';
import { isLockedHere, LOCKED_LABEL, matchesSearch, type GrantModels } from './restricted.ts';

export interface ConversationListProps {
  /** The conversation open now, marked as the current page. */
  currentId: string | undefined;
  /** What this tab's grant unlocks: a restricted conversation it does not cover is listed locked. */
  grantModels: GrantModels;
  onNew: () => void;
  onRenamed: (conversation: ConversationView) => void;
  onDeleted: (id: string) => void;
  /** A conversation link was followed (the drawer closes). */
  onOpened?: () => void;
}

/**
 * The sidebar: a new chat, the saved conversations (newest activity first), a search by title.
 * A restricted conversation no live grant covers is listed as locked: no title, and no rename.
 */
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
          grantModels={props.grantModels}
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
  grantModels: GrantModels;
  /** Lower-case words a title must contain; empty shows all. */
  search: string;
  confirm: (request: ConfirmRequest) => Promise<boolean>;
  onOpened: () => void;
  onRenamed: (conversation: ConversationView) => void;
  onDeleted: (id: string) => void;
}

const ConversationItems: Component<ConversationItemsProps> = (props) => {
  const list = createCursorPages((after) => listConversations(after), 'id');
  /** For when a locked conversation was last used: all that tells two locked rows apart. */
  const now = createNow();
  const conversations = () => list.pages()?.flatMap((page) => page.conversations) ?? [];
  // Searches the titles loaded so far; "Load more" brings older ones into the search. A locked
  // conversation has no title to match.
  const shown = () => conversations().filter((conversation) => matchesSearch(conversation, props.search, props.grantModels));

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
                locked={isLockedHere(conversation, props.grantModels)}
                now={now()}
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
  /** Restricted and not readable now: listed without its title, and it cannot be renamed. */
  locked: boolean;
  now: number;
  current: boolean;
  confirm: (request: ConfirmRequest) => Promise<boolean>;
  onOpened: () => void;
  onRenamed: (conversation: ConversationView) => void;
  onDeleted: (id: string) => void;
}

/**
 * One saved conversation: a link that opens it, and a row menu to rename or delete it. A locked
 * one is a link to its locked view ("Restricted conversation — locked"), and can only be deleted.
 */
const ConversationItem: Component<ConversationItemProps> = (props) => {
  /** What the row is called: its title, or the locked label. */
  const name = () => (props.locked ? LOCKED_LABEL : (props.conversation.title ?? ''));
  const usedId = createUniqueId();
  const used = () => {
    const updatedAt = props.conversation.updatedAt;
    return Number.isNaN(Date.parse(updatedAt)) ? undefined : { ago: relativeTime(updatedAt, props.now), exact: exactTime(updatedAt) };
  };
  const row = useRowActions({
    id: () => props.conversation.id,
    actions: { rename: renameConversation, remove: deleteConversation },
    confirm: (request) => props.confirm(request),
  });

  async function save(title: string) {
    if (row.busy() || title === '' || props.locked) return;
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
      // A restricted title would stay in the question if the grant ended while it is asked.
      title: props.conversation.restricted || props.locked ? 'Delete this restricted conversation?' : `Delete “${name()}”?`,
      message: 'The conversation and all its messages are deleted. This cannot be undone.',
      confirmLabel: 'Delete',
    };
    if (await row.act(() => row.run.remove(props.conversation.id), question)) props.onDeleted(props.conversation.id);
  }

  return (
    <li class="conversation-item" classList={{ current: props.current, locked: props.locked }} aria-busy={row.busy()}>
      <Show
        when={row.editing() && !props.locked}
        fallback={
          <div class="conversation-row">
            <A
              href={`/chat/${encodeURIComponent(props.conversation.id)}`}
              end
              id={row.headerId}
              class="conversation-link"
              title={props.locked ? `${LOCKED_LABEL} — last used ${used()?.exact ?? 'earlier'}` : name()}
              aria-describedby={props.locked && used() ? usedId : undefined}
              onClick={() => props.onOpened()}
            >
              <Show
                when={props.locked}
                fallback={
                  <>
                    <span class="conversation-title">{name()}</span>
                    <Show when={props.conversation.restricted}>
                      <span class="conversation-restricted">
                        <LockIcon open />
                        <span class="visually-hidden"> (restricted)</span>
                      </span>
                    </Show>
                  </>
                }
              >
                <LockIcon />
                <span class="conversation-title">
                  {LOCKED_LABEL}
                  {/* Not part of the link's name (every locked row has the same); its description. */}
                  <Show when={used()}>
                    {(when) => (
                      <span class="conversation-used" id={usedId} aria-hidden="true">
                        {' · '}
                        <span class="visually-hidden">Last used </span>
                        {when().ago}
                      </span>
                    )}
                  </Show>
                </span>
              </Show>
            </A>
            <div class="conversation-menu" ref={row.actionsRef}>
              <DropdownMenu placement="bottom-end" gutter={4} modal={false}>
                <DropdownMenu.Trigger class="quiet icon-button row-menu-trigger" aria-label={`Actions for ${name()}`}>
                  <span aria-hidden="true">⋯</span>
                </DropdownMenu.Trigger>
                <DropdownMenu.Portal>
                  <DropdownMenu.Content class="row-menu" onCloseAutoFocus={afterMenu}>
                    {/* A locked conversation's title is not known here: nothing to rename from. */}
                    <Show when={!props.locked}>
                      <DropdownMenu.Item class="row-menu-item" onSelect={() => (chosen = 'rename')}>
                        Rename
                      </DropdownMenu.Item>
                    </Show>
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
          value={props.conversation.title ?? ''}
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
