import { A } from '@solidjs/router';
import { createEffect, createSignal, createUniqueId, For, Match, on, onCleanup, onMount, Show, Switch, type Component } from 'solid-js';
import { MESSAGE_MAX_CHARS, type ModelView } from '../../../shared/api.ts';
import { ApiError } from '../../api/http.ts';
import { Alert, describeError, ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Loading } from '../../components/Loading.tsx';
import { secondsText } from '../../lib/countdown.ts';
import { unlockThenSend } from '../../lib/unlock.ts';
import { useModelAccess } from '../../modelAccess.tsx';
import type { ChatEntry, Conversation, LockedConversation } from './conversation.ts';
import { LockIcon } from './LockIcon.tsx';
import { Markdown } from './Markdown.tsx';
import { listText, LOCKED_LABEL, restrictedModelNames } from './restricted.ts';

export interface ConversationPanelProps {
  conversation: Conversation;
  /** Every model this user may see, to name the one that wrote each answer. */
  models: readonly ModelView[];
  model: ModelView | undefined;
  /** The picked model is restricted and locked: sending asks for the key first. */
  locked: boolean;
  /** The message box, for the page to put the focus in. */
  composerRef?: (textarea: HTMLTextAreaElement) => void;
}

/** Pixels from the bottom within which the log keeps following a streaming answer. */
const FOLLOW_SLACK = 48;

const MAX_CHARS_TEXT = MESSAGE_MAX_CHARS.toLocaleString('en');

function isGrantRequired(error: unknown): boolean {
  return error instanceof ApiError && error.code === 'GRANT_REQUIRED';
}

function isNotFound(error: unknown): boolean {
  // An id that is not even well formed (400) is as unknown as one that is (404).
  return error instanceof ApiError && (error.status === 404 || error.code === 'VALIDATION_FAILED');
}

/**
 * The open conversation: the messages filling the height, what happened to restricted access
 * said inline, and the message box pinned at the bottom. With a locked model picked, sending
 * asks for the key first and then sends: one touch, nothing typed is lost. A locked restricted
 * conversation shows its locked view instead of its messages, with the touch that reads it.
 */
export const ConversationPanel: Component<ConversationPanelProps> = (props) => {
  const access = useModelAccess();
  const headingId = createUniqueId();
  const [draft, setDraft] = createSignal('');
  const [following, setFollowing] = createSignal(true);
  /** The last question is being edited in the message box: sending replaces it. */
  const [editing, setEditing] = createSignal(false);
  /** The stored question the edit started from: restricted words that go if the conversation locks. */
  let editedFrom = '';
  let log!: HTMLDivElement;
  let inner!: HTMLDivElement;
  let form!: HTMLFormElement;
  let composer!: HTMLTextAreaElement;

  const tooLong = () => draft().trim().length > MESSAGE_MAX_CHARS;
  const ready = () => !props.conversation.loading() && !props.conversation.loadError();
  const canSend = () =>
    draft().trim() !== '' &&
    !tooLong() &&
    ready() &&
    props.model !== undefined &&
    !props.conversation.streaming() &&
    !access.unlocking();
  const canRetry = () => props.conversation.canRetry() && props.model !== undefined && !access.unlocking();
  const modelName = (id: string | null) =>
    props.models.find((model) => model.id === id)?.displayName ?? id ?? 'Assistant';
  const conversationLocked = () => props.conversation.locked() !== undefined;
  /** Sending needs a touch first: the model picked is locked, or the conversation is. */
  const touchFirst = () => props.locked || conversationLocked();
  const sendLabel = () => (touchFirst() ? 'Touch your key to send' : editing() ? 'Resend' : 'Send');

  function scrollToLatest() {
    log.scrollTop = log.scrollHeight;
    setFollowing(true);
  }

  // Follow the answer as it grows, unless the reader scrolled up to read something earlier.
  createEffect(
    on(
      () => props.conversation.entries.map((entry) => entry.text.length + (entry.note ? 1 : 0)).join(),
      () => {
        if (following()) log.scrollTop = log.scrollHeight;
      },
    ),
  );
  // Answers render (Markdown, code blocks) after their text arrives: follow what the log grows to.
  onMount(() => {
    const observer = new ResizeObserver(() => {
      if (following()) log.scrollTop = log.scrollHeight;
    });
    observer.observe(inner);
    observer.observe(log);
    onCleanup(() => observer.disconnect());
  });
  // Another conversation starts at its latest message, and is not being edited.
  createEffect(
    on(
      props.conversation.id,
      () => {
        setFollowing(true);
        setEditing(false);
      },
      { defer: true },
    ),
  );
  // Locked while open: the messages went, and so do the stored words an edit had put in the box;
  // anything the person typed themselves stays.
  createEffect(
    on(
      () => props.conversation.locked(),
      (locked) => {
        if (!locked) return;
        setFollowing(true);
        if (!editing()) return;
        setEditing(false);
        if (draft() === editedFrom) setDraft('');
        editedFrom = '';
      },
      { defer: true },
    ),
  );
  // A refused touch is answered by typing on or picking another model.
  createEffect(on([draft, () => props.model?.id], () => access.clearUnlockError(), { defer: true }));

  /** Sends (or resends the edited question), touching the key first when the model is locked. */
  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const model = props.model;
    const text = draft().trim();
    if (!canSend() || !model) return;
    const replacing = editing();
    const outcome = await unlockThenSend({
      locked: touchFirst,
      // A locked conversation is read again once the touch unlocks it, then the message goes there.
      unlock: async () => (await access.unlock('send')) && (!conversationLocked() || (await props.conversation.reveal())),
      send: async () => {
        setDraft('');
        setFollowing(true);
        const accepted = replacing ? await props.conversation.edit(model, text) : await props.conversation.send(model, text);
        // Refused before anything streamed: give the words back, unless something new was typed.
        if (!accepted && draft() === '') setDraft(text);
        return accepted;
      },
    });
    if (outcome === 'sent' && replacing) setEditing(false);
    composer.focus();
  }

  async function retry() {
    const model = props.model;
    if (!canRetry() || !model) return;
    // The Retry button goes while the new answer streams: the focus waits in the message box.
    composer.focus();
    await unlockThenSend({
      locked: () => props.locked,
      unlock: () => access.unlock('send'),
      send: async () => {
        setFollowing(true);
        await props.conversation.retry(model);
        return true;
      },
    });
  }

  function startEditing(entry: ChatEntry) {
    setEditing(true);
    editedFrom = entry.text;
    setDraft(entry.text);
    composer.focus();
    composer.setSelectionRange(composer.value.length, composer.value.length);
  }

  function cancelEditing() {
    setEditing(false);
    setDraft('');
    composer.focus();
  }

  function stop() {
    props.conversation.stop();
    // The Stop button goes with the stream it stopped.
    composer.focus();
  }

  function onKeyDown(event: KeyboardEvent) {
    if (event.key === 'Escape' && editing()) {
      event.preventDefault();
      cancelEditing();
      return;
    }
    // Enter sends, Shift+Enter is a new line; an IME composing text keeps its Enter.
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.altKey || event.ctrlKey || event.metaKey)
      return;
    event.preventDefault();
    form.requestSubmit();
  }

  const isLast = (index: number) => index === props.conversation.entries.length - 1;
  const editable = (entry: ChatEntry) => !editing() && props.conversation.lastQuestion()?.key === entry.key;

  return (
    <section class="chat-conversation" aria-labelledby={headingId}>
      <h2 id={headingId} class="visually-hidden">
        Conversation
      </h2>
      <div class="chat-log-wrap">
        <div
          ref={log}
          role="log"
          aria-labelledby={headingId}
          aria-busy={props.conversation.loading()}
          class="messages"
          tabIndex={0}
          onScroll={() => setFollowing(log.scrollHeight - log.scrollTop - log.clientHeight < FOLLOW_SLACK)}
        >
          <div ref={inner} class="messages-inner">
            <Switch>
              {/* Before loading: while a touch reads it again, the locked view (and its focus) stays. */}
              <Match when={props.conversation.locked()}>
                {(locked) => <LockedView locked={locked()} models={props.models} conversation={props.conversation} />}
              </Match>
              <Match when={props.conversation.loading()}>
                <Loading />
              </Match>
              <Match when={props.conversation.loadError()}>
                {(loadError) => (
                  <div class="load-failed">
                    <Show
                      when={isNotFound(loadError())}
                      fallback={
                        <>
                          <ErrorAlert error={loadError()} />
                          <button type="button" onClick={() => props.conversation.reload()}>
                            Try again
                          </button>
                        </>
                      }
                    >
                      <Alert>
                        <p>This conversation does not exist, or it is not yours.</p>
                      </Alert>
                    </Show>
                    <A href="/chat">Start a new conversation</A>
                  </div>
                )}
              </Match>
              <Match when={props.conversation.entries.length === 0 && props.conversation.id() === undefined}>
                <div class="chat-empty">
                  <p class="chat-empty-title">What shall we talk about?</p>
                  <p class="muted">
                    Pick a model and send a message to start a conversation. It is saved under Conversations.
                  </p>
                </div>
              </Match>
            </Switch>
            <For each={props.conversation.entries}>
              {(entry, index) => (
                <Message
                  entry={entry}
                  modelName={modelName(entry.model)}
                  onEdit={editable(entry) ? () => startEditing(entry) : undefined}
                  retry={
                    isLast(index()) && props.conversation.canRetry() ? { enabled: canRetry(), run: () => void retry() } : undefined
                  }
                />
              )}
            </For>
          </div>
        </div>
        <Show when={!following()}>
          <button type="button" class="jump-latest" onClick={scrollToLatest}>
            ↓ Jump to latest
          </button>
        </Show>
      </div>

      <div class="chat-bottom">
        <AccessNotices model={props.model} locked={props.locked} />
        {/* A missing grant is said by the notice above, and only while the model is locked. */}
        <Show when={!isGrantRequired(props.conversation.error()) || !props.locked}>
          <ErrorAlert error={props.conversation.error()} />
        </Show>
        {/* A locked conversation says a refused touch in its locked view, by the button. */}
        <Show when={conversationLocked() ? undefined : access.unlockError()}>
          {(refusal) => (
            <div class="alert chat-refusal" role="alert">
              <p>
                <strong>{draft() !== '' ? 'Not sent:' : 'Not unlocked:'}</strong> {describeError(refusal())}
                <Show when={draft() !== ''}> Your message is kept; send it again to retry.</Show>
              </p>
            </div>
          )}
        </Show>
        <p class="key-prompt chat-status" role="status">
          {access.unlocking() ? 'Touch your security key now…' : ''}
        </p>
        <Show when={editing()}>
          <div class="chat-editing">
            <span>Editing your last question — sending replaces it and its answer.</span>
            <button type="button" class="quiet" onClick={cancelEditing}>
              Cancel edit
            </button>
          </div>
        </Show>
        <form ref={form} class="composer" classList={{ locked: touchFirst() }} onSubmit={(event) => void submit(event)}>
          <label class="visually-hidden" for={`${headingId}-message`}>
            Message
          </label>
          <textarea
            id={`${headingId}-message`}
            ref={(textarea) => {
              composer = textarea;
              props.composerRef?.(textarea);
            }}
            name="message"
            rows={1}
            placeholder={props.model ? `Message ${props.model.displayName}` : 'Message'}
            aria-describedby={`${headingId}-hint`}
            value={draft()}
            aria-invalid={tooLong()}
            onInput={(event) => setDraft(event.currentTarget.value)}
            onKeyDown={onKeyDown}
          />
          <div class="composer-actions">
            <Show when={props.conversation.streaming()}>
              <button type="button" class="stop" onClick={stop}>
                Stop
              </button>
            </Show>
            <button type="submit" class="primary send" classList={{ 'send-locked': touchFirst() }} aria-disabled={!canSend()}>
              {sendLabel()}
            </button>
          </div>
        </form>
        <p id={`${headingId}-hint`} class="composer-hint muted">
          Enter sends; Shift+Enter starts a new line.
        </p>
        <Show when={tooLong()}>
          <p class="field-error" role="alert">
            This message is longer than {MAX_CHARS_TEXT} characters. Shorten it to send it.
          </p>
        </Show>
      </div>
    </section>
  );
};

interface LockedViewProps {
  locked: LockedConversation;
  models: readonly ModelView[];
  conversation: Conversation;
}

/**
 * A restricted conversation without a live grant covering it: what it is (the model it used),
 * and one touch of the person's own key to read it. No title, no messages: they are not here.
 */
const LockedView: Component<LockedViewProps> = (props) => {
  const access = useModelAccess();
  const headingId = createUniqueId();
  const [stillLocked, setStillLocked] = createSignal(false);
  let button!: HTMLButtonElement;
  const names = () => restrictedModelNames(props.locked.conversation, props.models);
  const refusal = () => (access.unlockState().phase === 'refused' ? access.unlockError() : undefined);

  onMount(() => {
    // Opened locked, the touch is the thing to do; locked while open, the focus moves only if it
    // went with the messages (it stays in the message box, or the sidebar, where the person is).
    const focusLost = document.activeElement === null || document.activeElement === document.body;
    if (!props.locked.ended || focusLost) button.focus();
  });

  async function read() {
    if (access.unlocking()) return;
    setStillLocked(false);
    if (!(await access.unlock())) return;
    // The new grant reads it again (see Chat.tsx); this waits for that read. A read that failed says why itself.
    if (!(await props.conversation.reveal()) && props.conversation.locked() && !props.conversation.loadError()) setStillLocked(true);
  }

  return (
    <section class="chat-locked" aria-labelledby={headingId}>
      <span class="chat-locked-icon">
        <LockIcon />
      </span>
      <h3 id={headingId} class="chat-locked-title">
        {LOCKED_LABEL}
      </h3>
      <p class="muted">
        <Show when={names().length > 0} fallback="This conversation used a restricted model.">
          This conversation used {listText(names())}, {names().length > 1 ? 'restricted models' : 'a restricted model'}.
        </Show>{' '}
        Its title and messages show only while your own security key has it unlocked.
      </p>
      <Show when={props.locked.ended}>
        <p class="chat-locked-ended">Access ended, so its messages were removed from this page.</p>
      </Show>
      <button ref={button} type="button" class="primary chat-locked-read" aria-disabled={access.unlocking()} onClick={() => void read()}>
        <LockIcon open />
        Touch your key to read
      </button>
      <Show when={refusal()}>
        {(error) => (
          <div class="alert chat-refusal" role="alert">
            <p>
              <strong>Not unlocked:</strong> {describeError(error())}
            </p>
          </div>
        )}
      </Show>
      <ErrorAlert error={props.conversation.loadError()} />
      <Show when={stillLocked()}>
        <div class="alert chat-refusal" role="alert">
          <p>Still locked: your access does not cover the model this conversation used.</p>
        </div>
      </Show>
    </section>
  );
};

/**
 * What happened to restricted access, said where the person types: access ended and why, the
 * warning before it ends (with Renew), and what a locked model needs.
 */
const AccessNotices: Component<{ model: ModelView | undefined; locked: boolean }> = (props) => {
  const access = useModelAccess();
  const notice = () => access.notice();
  const secondsLeft = () => Math.ceil(access.msLeft() / 1000);
  return (
    <div class="chat-notices">
      <Show when={notice()?.tone === 'alert' ? notice() : undefined}>
        {(alert) => (
          <Alert>
            <p>{alert().text}</p>
          </Alert>
        )}
      </Show>
      <p class="access-status" role="status">
        {notice()?.tone === 'status' ? notice()?.text : ''}
      </p>
      <Show when={access.grant() && access.expiring()}>
        <div class="grant-warning">
          <p>Access to restricted models ends in {secondsText(secondsLeft())}.</p>
          <button type="button" class="primary" aria-disabled={access.unlocking()} onClick={() => void access.unlock()}>
            Renew
          </button>
        </div>
      </Show>
      {/* Said once when the warning appears; the countdown itself is not read out every second. */}
      <p class="visually-hidden" role="status">
        {access.expiring() ? 'Access to restricted models ends soon. Renew to keep it.' : ''}
      </p>
      <Show when={props.locked && props.model}>
        {(model) => (
          <p class="gate">
            <span class="gate-dot" aria-hidden="true" />“{model().displayName}” is restricted. Sending asks for a touch of your own
            security key, then sends.
          </p>
        )}
      </Show>
    </div>
  );
};

interface MessageProps {
  entry: ChatEntry;
  modelName: string;
  /** The last question, when it can be edited and sent again. */
  onEdit: (() => void) | undefined;
  /** The last message, when its answer can be asked for again. */
  retry: { enabled: boolean; run: () => void } | undefined;
}

/**
 * One message. The person's own words are shown as written (plain text); a model's answer
 * is Markdown, sanitised before it reaches the DOM.
 */
const Message: Component<MessageProps> = (props) => (
  <article class={`message ${props.entry.role} ${props.entry.state}`} aria-busy={props.entry.state === 'streaming'}>
    <p class="message-author">{props.entry.role === 'user' ? 'You' : props.modelName}</p>
    <Show when={props.entry.role === 'assistant'} fallback={<p class="message-text">{props.entry.text}</p>}>
      <Markdown text={props.entry.text} />
      <Show when={props.entry.state === 'streaming' && props.entry.text === ''}>
        <p class="typing" aria-hidden="true">
          …
        </p>
      </Show>
    </Show>
    <Show when={props.entry.note}>{(note) => <p class="message-note">{note()}</p>}</Show>
    <Show when={props.onEdit || props.retry}>
      <div class="message-actions">
        <Show when={props.retry && props.entry.role === 'user'}>
          <span class="muted">No answer yet.</span>
        </Show>
        <Show when={props.onEdit}>
          {(edit) => (
            <button type="button" class="quiet" onClick={() => edit()()}>
              Edit
            </button>
          )}
        </Show>
        <Show when={props.retry}>
          {(retry) => (
            <button type="button" class="quiet" aria-disabled={!retry().enabled} onClick={() => retry().run()}>
              Retry
            </button>
          )}
        </Show>
      </div>
    </Show>
  </article>
);
