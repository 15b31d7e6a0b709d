import { createEffect, createSignal, createUniqueId, For, on, Show, type Component } from 'solid-js';
import type { ModelView } from '../../../shared/api.ts';
import { ApiError } from '../../api/http.ts';
import { Alert, ErrorAlert, GRANT_REQUIRED_MESSAGE } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import type { ChatEntry, Conversation } from './conversation.ts';

export interface ConversationPanelProps {
  conversation: Conversation;
  model: ModelView | undefined;
  /** The picked model is restricted and locked: nothing is sent until it is unlocked. */
  locked: boolean;
}

/** Pixels from the bottom within which the log keeps following a streaming answer. */
const FOLLOW_SLACK = 48;

function isGrantRequired(error: unknown): boolean {
  return error instanceof ApiError && error.code === 'GRANT_REQUIRED';
}

export const ConversationPanel: Component<ConversationPanelProps> = (props) => {
  const headingId = createUniqueId();
  const [draft, setDraft] = createSignal('');
  const [following, setFollowing] = createSignal(true);
  let log!: HTMLDivElement;
  let form!: HTMLFormElement;

  const canSend = () =>
    draft().trim() !== '' && props.model !== undefined && !props.locked && !props.conversation.streaming();

  // Follow the answer as it grows, unless the reader scrolled up to read something earlier.
  createEffect(
    on(
      () => props.conversation.entries.map((entry) => entry.text.length + (entry.note ? 1 : 0)).join(),
      () => {
        if (following()) log.scrollTop = log.scrollHeight;
      },
    ),
  );

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
        class="messages"
        tabIndex={0}
        onScroll={() => setFollowing(log.scrollHeight - log.scrollTop - log.clientHeight < FOLLOW_SLACK)}
      >
        <For each={props.conversation.entries}>{(entry) => <Message entry={entry} />}</For>
      </div>
      <Show when={props.conversation.entries.length === 0}>
        <p class="empty">Pick a model and send a message. Answers appear here as they are written.</p>
      </Show>

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
              name="message"
              rows={3}
              value={draft()}
              onInput={(event) => setDraft(event.currentTarget.value)}
              onKeyDown={onKeyDown}
            />
          )}
        </Field>
        <div class="composer-actions">
          <Show when={props.conversation.streaming()}>
            <button type="button" onClick={() => props.conversation.stop()}>
              Stop
            </button>
          </Show>
          <button type="submit" class="primary" aria-disabled={!canSend()}>
            Send
          </button>
        </div>
      </form>
    </section>
  );
};

/** One message. Text only, set as text: a model's answer is never parsed as HTML. */
const Message: Component<{ entry: ChatEntry }> = (props) => (
  <article
    class={`message ${props.entry.role} ${props.entry.state}`}
    aria-busy={props.entry.state === 'streaming'}
  >
    <p class="message-author">{props.entry.role === 'user' ? 'You' : props.entry.modelName}</p>
    <p class="message-text">
      {props.entry.text}
      <Show when={props.entry.state === 'streaming' && props.entry.text === ''}>
        <span class="typing" aria-hidden="true">
          …
        </span>
      </Show>
    </p>
    <Show when={props.entry.note}>
      {(note) => <p class="message-note">{note()}</p>}
    </Show>
  </article>
);
