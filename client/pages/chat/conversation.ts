/**
 * The conversation open on the chat screen: its saved messages, and the answer streaming
 * in. The server keeps every message; this holds what is on screen, so a stream can write
 * into it as it arrives. A restricted conversation's messages are held only while a grant in
 * this tab covers it: locked, nothing of it stays here but its metadata.
 */
import { createSignal } from 'solid-js';
import { createStore, produce } from 'solid-js/store';
import type { ConversationView, ModelView } from '../../../shared/api.ts';
import type { ChatStreamEvent } from '../../../shared/events.ts';
import { fetchConversation, startConversation, streamEdit, streamMessage, streamRetry } from '../../api/conversations.ts';
import { ApiError } from '../../api/http.ts';
import { GRANT_END_TEXT } from '../../lib/grantReasons.ts';
import { cutNote, entryOf, STREAM_ERROR_TEXT, type ChatEntry } from './entries.ts';
import { afterAnswerFrom, lockedMetadata } from './restricted.ts';

export type { ChatEntry, EntryState } from './entries.ts';

/** The open conversation shows its locked view: restricted, and no grant here covers it. */
export interface LockedConversation {
  /** Its metadata: no title, no messages. */
  conversation: ConversationView;
  /** The grant ended while it was open (its messages were just removed), rather than it opened locked. */
  ended: boolean;
}

export interface Conversation {
  /** The id in the address, if any: set before the conversation itself has loaded. */
  id: () => string | undefined;
  /** The open conversation, once loaded (or just created). */
  current: () => ConversationView | undefined;
  loading: () => boolean;
  /** Why the conversation in the address could not be opened. */
  loadError: () => unknown;
  /** Set while the open conversation is locked: its messages are not here. */
  locked: () => LockedConversation | undefined;
  entries: readonly ChatEntry[];
  streaming: () => boolean;
  /** Why the last message (or retry) was not answered at all: refused before the stream started. */
  error: () => unknown;
  clearError: () => void;
  /** Opens the conversation `id` (undefined: none, a new one starts with the next message). */
  open: (id: string | undefined) => void;
  /** Loads the open conversation again, after it failed to load. */
  reload: () => void;
  /**
   * The grant covering the open (restricted) conversation ended: its messages go from the
   * page and from memory at once, an answer streaming in stops, and the locked view shows.
   */
  lock: () => void;
  /**
   * Reads the locked conversation again, once a grant covers it; resolves to true when its
   * messages show. Asked twice while reading, it answers both from the one read.
   */
  reveal: () => Promise<boolean>;
  /** Sends `text` to `model`; resolves to false when it was refused and the text should go back to the composer. */
  send: (model: ModelView, text: string) => Promise<boolean>;
  /** Answers the last message again with `model`, replacing the last answer. */
  retry: (model: ModelView) => Promise<void>;
  /** The last answer can be asked for again. */
  canRetry: () => boolean;
  /** The last question, when it can be edited and sent again. */
  lastQuestion: () => ChatEntry | undefined;
  /**
   * Replaces the last question with `text` and asks `model` again; resolves to false when it
   * was refused (the question and its answer are back as they were).
   */
  edit: (model: ModelView, text: string) => Promise<boolean>;
  /** A new title, from the sidebar. */
  renamed: (conversation: ConversationView) => void;
  /** Stops the answer streaming in; what came so far stays. */
  stop: () => void;
}

export interface ConversationOptions {
  /** A live grant in this tab covers `conversation` (always true for a standard one). */
  canRead: (conversation: ConversationView) => boolean;
  /** The server refused a restricted model for want of a grant. */
  onGrantRequired: () => void;
  /** The first message created a conversation: give it its address. */
  onCreated: (conversation: ConversationView) => void;
  /** A conversation from the address loaded. */
  onOpened: (conversation: ConversationView) => void;
  /** The conversation from the address is locked (opened so, or its grant ended). */
  onLocked?: (locked: LockedConversation) => void;
  /** A title or the order of the list may have changed. */
  onChanged: () => void;
}

type Stream = (signal: AbortSignal, onEvent: (event: ChatStreamEvent) => void) => Promise<void>;

export function createConversation(options: ConversationOptions): Conversation {
  const [id, setId] = createSignal<string>();
  const [current, setCurrent] = createSignal<ConversationView>();
  const [loading, setLoading] = createSignal(false);
  const [loadError, setLoadError] = createSignal<unknown>();
  const [locked, setLocked] = createSignal<LockedConversation>();
  const [entries, setEntries] = createStore<ChatEntry[]>([]);
  const [streaming, setStreaming] = createSignal(false);
  const [error, setError] = createSignal<unknown>();
  let controller: AbortController | undefined;
  let loader: AbortController | undefined;
  let revealing: Promise<boolean> | undefined;
  let nextLocal = 1;

  const localKey = () => `local-${nextLocal++}`;

  const update = (key: string, change: (entry: ChatEntry) => void) =>
    setEntries(
      produce((all) => {
        const entry = all.find((candidate) => candidate.key === key);
        if (entry) change(entry);
      }),
    );

  function apply(answerKey: string, event: ChatStreamEvent) {
    update(answerKey, (entry) => {
      if (entry.state !== 'streaming') return;
      switch (event.type) {
        case 'start':
          return;
        case 'delta':
          entry.text += event.text;
          return;
        case 'done':
          entry.state = 'done';
          if (event.finishReason === 'length') entry.note = 'Stopped at the model’s length limit.';
          return;
        case 'cut':
          entry.state = 'cut';
          entry.note = cutNote(GRANT_END_TEXT[event.reason] ?? event.reason);
          return;
        case 'error':
          entry.state = 'failed';
          entry.note = event.message || STREAM_ERROR_TEXT[event.code] || 'The model could not answer.';
          return;
      }
    });
  }

  /** Shows `conversation` locked: no messages, no title, nothing streaming into it. */
  function showLocked(conversation: ConversationView, ended: boolean) {
    controller?.abort();
    const view: LockedConversation = { conversation: lockedMetadata(conversation), ended };
    setEntries([]);
    setCurrent(view.conversation);
    setError(undefined);
    setLocked(view);
    options.onLocked?.(view);
  }

  /** Reads the conversation; resolves to true when its messages show (false: locked, failed, or overtaken). */
  function load(conversationId: string): Promise<boolean> {
    loader?.abort();
    const mine = new AbortController();
    loader = mine;
    setLoading(true);
    setLoadError(undefined);
    return fetchConversation(conversationId, mine.signal).then(
      (read) => {
        if (loader !== mine) return false;
        loader = undefined;
        setLoading(false);
        // The grant may have ended while the answer was on its way: the UI locks before the server knows.
        if (read.locked || !options.canRead(read.conversation)) {
          showLocked(read.conversation, false);
          return false;
        }
        setLocked(undefined);
        setCurrent(read.conversation);
        setEntries(read.messages.map(entryOf));
        options.onOpened(read.conversation);
        return true;
      },
      (cause: unknown) => {
        if (loader !== mine) return false;
        loader = undefined;
        setLoadError(cause);
        setLoading(false);
        return false;
      },
    );
  }

  function lock() {
    const open = current();
    // A standard conversation needs no grant: it stays as it is.
    if (!open?.restricted || locked()) return;
    showLocked(open, true);
  }

  function reveal(): Promise<boolean> {
    const conversationId = id();
    if (!conversationId || !locked()) return Promise.resolve(conversationId !== undefined && !locked());
    revealing ??= load(conversationId).finally(() => (revealing = undefined));
    return revealing;
  }

  function open(next: string | undefined) {
    // The address of a conversation just created for the first message: it is already here.
    if (next === id()) return;
    // Leaving a conversation stops its answer; the server keeps what was written, cut off.
    controller?.abort();
    loader?.abort();
    loader = undefined;
    revealing = undefined;
    setId(next);
    setCurrent(undefined);
    setLocked(undefined);
    setEntries([]);
    setError(undefined);
    setLoadError(undefined);
    setLoading(false);
    if (next) void load(next);
  }

  /**
   * Runs one answer into the entry `answerKey`. Refused before anything streamed, `undo`
   * puts the screen back as it was and this resolves to false.
   */
  async function run(
    model: ModelView,
    answerKey: string,
    stream: Stream,
    undo: () => void,
    questionKey?: string,
    mine = new AbortController(),
  ): Promise<boolean> {
    controller = mine;
    setStreaming(true);
    let started = false;
    try {
      await stream(mine.signal, (event) => {
        started = true;
        if (event.type === 'start') {
          // The stored ids; the list shows the new title and order from here on.
          update(answerKey, (entry) => (entry.key = event.assistantMessageId));
          const userMessageId = event.userMessageId;
          if (questionKey && userMessageId) update(questionKey, (entry) => (entry.key = userMessageId));
          answerKey = event.assistantMessageId;
          options.onChanged();
          const open = current();
          if (open) {
            const marked = afterAnswerFrom(open, model);
            if (marked !== open) setCurrent(marked);
            // Restricted from this answer on, and no grant here covers it any more: nothing of it stays.
            if (!options.canRead(marked)) lock();
          }
          return;
        }
        apply(answerKey, event);
      });
      update(answerKey, (entry) => {
        if (entry.state !== 'streaming') return;
        entry.state = 'failed';
        entry.note = 'The answer ended unexpectedly.';
      });
      return true;
    } catch (cause) {
      if (mine.signal.aborted) {
        update(answerKey, (entry) => {
          if (entry.state !== 'streaming') return;
          entry.state = 'cut';
          entry.note = cutNote(GRANT_END_TEXT.stopped);
        });
        return true;
      }
      if (!started && cause instanceof ApiError && cause.status !== 0) {
        // Locked meanwhile: what `undo` would put back is restricted, and gone.
        if (!locked()) undo();
        refused(cause);
        return false;
      }
      update(answerKey, (entry) => {
        entry.state = 'failed';
        entry.note = cause instanceof ApiError ? cause.message : 'The answer could not be read.';
      });
      return true;
    } finally {
      if (controller === mine) {
        controller = undefined;
        setStreaming(false);
      }
      options.onChanged();
    }
  }

  function refused(cause: unknown) {
    setError(cause);
    if (cause instanceof ApiError && cause.code === 'GRANT_REQUIRED') options.onGrantRequired();
  }

  async function send(model: ModelView, text: string): Promise<boolean> {
    if (streaming() || loading() || loadError() || locked()) return false;
    setError(undefined);
    const questionKey = localKey();
    const answerKey = localKey();
    setEntries(entries.length, { key: questionKey, role: 'user', text, model: null, state: 'done' });
    setEntries(entries.length, { key: answerKey, role: 'assistant', text: '', model: model.id, state: 'streaming' });
    const undo = () => setEntries((all) => all.filter((entry) => entry.key !== questionKey && entry.key !== answerKey));

    const mine = new AbortController();
    let conversationId = id();
    if (!conversationId) {
      // The first message: the conversation is created for it, then it is sent there.
      controller = mine;
      setStreaming(true);
      try {
        const created = await startConversation({ model: model.id }, mine.signal);
        // Stopped, or another conversation opened (which stops this), while it was being created.
        if (mine.signal.aborted) {
          undo();
          return false;
        }
        conversationId = created.id;
        setId(created.id);
        setCurrent(created);
        options.onCreated(created);
      } catch (cause) {
        undo();
        if (!mine.signal.aborted) refused(cause);
        return false;
      } finally {
        if (controller === mine && conversationId === undefined) {
          controller = undefined;
          setStreaming(false);
        }
      }
    }
    const target = conversationId;
    return run(
      model,
      answerKey,
      (signal, onEvent) => streamMessage(target, { content: text, model: model.id }, signal, onEvent),
      undo,
      questionKey,
      mine,
    );
  }

  function canRetry(): boolean {
    const last = entries.at(-1);
    return id() !== undefined && !streaming() && !loading() && last !== undefined && last.state !== 'streaming';
  }

  function lastQuestion(): ChatEntry | undefined {
    if (!canRetry()) return undefined;
    const last = entries.at(-1);
    const question = last?.role === 'assistant' ? entries.at(-2) : last;
    return question?.role === 'user' ? question : undefined;
  }

  async function edit(model: ModelView, text: string): Promise<boolean> {
    const conversationId = id();
    const question = lastQuestion();
    if (!conversationId || !question) return false;
    setError(undefined);
    const before = entries.map((entry) => ({ ...entry }));
    const questionKey = question.key;
    const answerKey = localKey();
    // The old question's answer goes; the edited question gets a new one.
    setEntries((all) => [
      ...all.slice(0, all.findIndex((entry) => entry.key === questionKey)),
      { ...question, text },
      { key: answerKey, role: 'assistant', text: '', model: model.id, state: 'streaming' },
    ]);
    const undo = () => setEntries(before);
    return run(
      model,
      answerKey,
      (signal, onEvent) => streamEdit(conversationId, { content: text, model: model.id }, signal, onEvent),
      undo,
      questionKey,
    );
  }

  async function retry(model: ModelView): Promise<void> {
    const conversationId = id();
    const last = entries.at(-1);
    if (!conversationId || !last || !canRetry()) return;
    setError(undefined);
    let answerKey: string;
    let undo: () => void;
    if (last.role === 'assistant') {
      // The answer being replaced comes back if the retry is refused.
      const previous = { ...last };
      answerKey = last.key;
      update(answerKey, (entry) => {
        entry.text = '';
        entry.model = model.id;
        entry.state = 'streaming';
        entry.note = undefined;
      });
      undo = () => update(answerKey, (entry) => Object.assign(entry, previous));
    } else {
      // A question left without an answer gets one.
      answerKey = localKey();
      setEntries(entries.length, { key: answerKey, role: 'assistant', text: '', model: model.id, state: 'streaming' });
      const key = answerKey;
      undo = () => setEntries((all) => all.filter((entry) => entry.key !== key));
    }
    await run(model, answerKey, (signal, onEvent) => streamRetry(conversationId, { model: model.id }, signal, onEvent), undo);
  }

  return {
    id,
    current,
    loading,
    loadError,
    locked,
    entries,
    streaming,
    error,
    clearError: () => setError(undefined),
    open,
    reload: () => {
      const conversationId = id();
      if (conversationId) void load(conversationId);
    },
    lock,
    reveal,
    send,
    retry,
    canRetry,
    lastQuestion,
    edit,
    renamed: (conversation) => {
      if (conversation.id === id() && !locked()) setCurrent(conversation);
    },
    stop: () => controller?.abort(),
  };
}
