import { A } from '@solidjs/router';
import { createEffect, createSignal, createUniqueId, For, Match, on, Show, Switch, type Component } from 'solid-js';
import { MESSAGE_MAX_CHARS, type ModelView } from '../../../shared/api.ts';
import { ApiError } from '../../api/http.ts';
import { Alert, ErrorAlert, GRANT_REQUIRED_MESSAGE } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { Loading } from '../../components/Loading.tsx';
import type { ChatEntry, Conversation } from './conversation.ts';
import { Markdown } from './Markdown.tsx';

export interface ConversationPanelProps {
  conversation: Conversation;
  /** Every model this user may see, to name the one that wrote each answer. */
  models: readonly ModelView[];
  model: ModelView | undefined;
  /** The picked model is restricted and locked: nothing is sent until it is unlocked. */
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

export const ConversationPanel: Component<ConversationPanelProps> = (props) => {
  const headingId = createUniqueId();
  const [draft, setDraft] = createSignal('');
  const [following, setFollowing] = createSignal(true);
  let log!: HTMLDivElement;
  let form!: HTMLFormElement;
  let composer!: HTMLTextAreaElement;

  const tooLong = () => draft().trim().length > MESSAGE_MAX_CHARS;
  const ready = () => !props.conversation.loading() && !props.conversation.loadError();
  const canSend = () =>
    draft().trim() !== '' &&
    !tooLong() &&
    ready() &&
    props.model !== undefined &&
    !props.locked &&
    !props.conversation.streaming();
  const canRetry = () => props.conversation.canRetry() && props.model !== undefined && !props.locked;
  const modelName = (id: string | null) =>
    props.models.find((model) => model.id === id)?.displayName ?? id ?? 'Assistant';

  // Follow the answer as it grows, unless the reader scrolled up to read something earlier.
  createEffect(
    on(
      () => props.conversation.entries.map((entry) => entry.text.length + (entry.note ? 1 : 0)).join(),
      () => {
        if (following()) log.scrollTop = log.scrollHeight;
      },
    ),
  );
  // Another conversation starts at its latest message.
  createEffect(on(props.conversation.id, () => setFollowing(true), { defer: true }));

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const model = props.model;
    const text = draft().trim();
    if (!canSend() || !model) return;
    setDraft('');
    setFollowing(true);
    const accepted = await props.conversation.send(model, text);
    // Refused before anything streamed: give the words back, unless something new was typed.
    if (!accepted && draft() === '') setDraft(text);
  }

  function retry() {
    const model = props.model;
    if (!canRetry() || !model) return;
    setFollowing(true);
    void props.conversation.retry(model);
    // The Retry button goes while the new answer streams: the focus waits in the message box.
    composer.focus();
  }

  function stop() {
    props.conversation.stop();
    // The Stop button goes with the stream it stopped.
    composer.focus();
  }

  function onKeyDown(event: KeyboardEvent) {
    // Enter sends, Shift+Enter is a new line; an IME composing text keeps its Enter.
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.altKey || event.ctrlKey || event.metaKey)
      return;
    event.preventDefault();
    form.requestSubmit();
  }

  return (
    <section class="panel conversation" aria-labelledby={headingId}>
      <h2 id={headingId}>Conversation</h2>
      <div
        ref={log}
        role="log"
        aria-labelledby={headingId}
        aria-busy={props.conversation.loading()}
        class="messages"
        tabIndex={0}
        onScroll={() => setFollowing(log.scrollHeight - log.scrollTop - log.clientHeight < FOLLOW_SLACK)}
      >
        <For each={props.conversation.entries}>
          {(entry, index) => (
            <Message
              entry={entry}
              modelName={modelName(entry.model)}
              retry={
                index() === props.conversation.entries.length - 1 && props.conversation.canRetry()
                  ? { enabled: canRetry(), run: retry }
                  : undefined
              }
            />
          )}
        </For>
      </div>

      <Switch>
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
          <p class="empty">
            Pick a model and send a message to start a conversation. It is saved and listed under Conversations;
            answers appear here as they are written.
          </p>
        </Match>
        <Match when={props.conversation.entries.length === 0}>
          <p class="empty">No messages yet. Send one to begin.</p>
        </Match>
      </Switch>

      <Show when={props.locked && props.model}>
        {(model) => (
          <Show
            when={isGrantRequired(props.conversation.error())}
            fallback={
              <p class="gate">
                “{model().displayName}” is restricted. {GRANT_REQUIRED_MESSAGE}
              </p>
            }
          >
            <Alert>
              <p>
                “{model().displayName}” is restricted. {GRANT_REQUIRED_MESSAGE}
              </p>
            </Alert>
          </Show>
        )}
      </Show>
      {/* A missing grant is said by the gate above, and only while the model is locked. */}
      <Show when={!isGrantRequired(props.conversation.error())}>
        <ErrorAlert error={props.conversation.error()} />
      </Show>

      <form ref={form} class="composer" onSubmit={submit}>
        <Field label="Message" class="grow" hint="Enter sends; Shift+Enter starts a new line.">
          {(control) => (
            <textarea
              {...control}
              ref={(textarea) => {
                composer = textarea;
                props.composerRef?.(textarea);
              }}
              name="message"
              rows={3}
              value={draft()}
              aria-invalid={tooLong()}
              onInput={(event) => setDraft(event.currentTarget.value)}
              onKeyDown={onKeyDown}
            />
          )}
        </Field>
        <div class="composer-actions">
          <Show when={props.conversation.streaming()}>
            <button type="button" onClick={stop}>
              Stop
            </button>
          </Show>
          <button type="submit" class="primary" aria-disabled={!canSend()}>
            Send
          </button>
        </div>
      </form>
      <Show when={tooLong()}>
        <p class="field-error" role="alert">
          This message is longer than {MAX_CHARS_TEXT} characters. Shorten it to send it.
        </p>
      </Show>
    </section>
  );
};

interface MessageProps {
  entry: ChatEntry;
  modelName: string;
  /** The last message, when its answer can be asked for again. */
  retry: { enabled: boolean; run: () => void } | undefined;
}

/**
 * One message. The person's own words are shown as written (plain text); a model's answer
 * is Markdown, sanitised before it reaches the DOM.
 */
const Message: Component<MessageProps> = (props) => (
  <article
    class={`message ${props.entry.role} ${props.entry.state}`}
    aria-busy={props.entry.state === 'streaming'}
  >
    <p class="message-author">{props.entry.role === 'user' ? 'You' : props.modelName}</p>
    <Show
      when={props.entry.role === 'assistant'}
      fallback={<p class="message-text">{props.entry.text}</p>}
    >
      <Markdown text={props.entry.text} />
      <Show when={props.entry.state === 'streaming' && props.entry.text === ''}>
        <p class="typing" aria-hidden="true">
          …
        </p>
      </Show>
    </Show>
    <Show when={props.entry.note}>
      {(note) => <p class="message-note">{note()}</p>}
    </Show>
    <Show when={props.retry}>
      {(retry) => (
        <div class="message-actions">
          <Show when={props.entry.role === 'user'}>
            <span class="muted">No answer yet.</span>
          </Show>
          <button type="button" aria-disabled={!retry().enabled} onClick={() => retry().run()}>
            Retry
          </button>
        </div>
      )}
    </Show>
  </article>
);
