/**
 * The conversation on the chat screen: what was said, and the answer streaming in. The
 * whole history goes with every request; the next issue saves it on the server.
 */
import { createSignal } from 'solid-js';
import { createStore, produce } from 'solid-js/store';
import type { ChatMessage, ModelView } from '../../../shared/api.ts';
import type { ChatStreamEvent } from '../../../shared/events.ts';
import { streamChat } from '../../api/chat.ts';
import { ApiError } from '../../api/http.ts';
import { GRANT_END_TEXT } from '../../lib/grantReasons.ts';

export type EntryState = 'streaming' | 'done' | 'cut' | 'failed';

export interface ChatEntry {
  id: number;
  role: 'user' | 'assistant';
  text: string;
  /** Assistant entries: the model that answered. */
  modelName?: string;
  state: EntryState;
  /** How an answer ended when it did not simply finish: "Cut off — security key removed". */
  note?: string;
}

export interface Conversation {
  entries: readonly ChatEntry[];
  streaming: () => boolean;
  /** Why the last message was not answered at all (refused before the stream started). */
  error: () => unknown;
  clearError: () => void;
  /** Sends `text` to `model`; resolves to false when it was refused and the text should go back to the composer. */
  send: (model: ModelView, text: string) => Promise<boolean>;
  /** Stops the answer streaming in; what came so far stays. */
  stop: () => void;
}

export interface ConversationOptions {
  /** The server refused a restricted model for want of a grant. */
  onGrantRequired: () => void;
}

export function createConversation(options: ConversationOptions): Conversation {
  const [entries, setEntries] = createStore<ChatEntry[]>([]);
  const [streaming, setStreaming] = createSignal(false);
  const [error, setError] = createSignal<unknown>();
  let controller: AbortController | undefined;
  let nextId = 1;

  const update = (id: number, change: (entry: ChatEntry) => void) =>
    setEntries(
      produce((all) => {
        const entry = all.find((candidate) => candidate.id === id);
        if (entry) change(entry);
      }),
    );

  function history(): ChatMessage[] {
    // A failed answer is left out; a cut one was seen and stays part of the conversation.
    return entries
      .filter((entry) => entry.text !== '' && entry.state !== 'failed')
      .map((entry) => ({ role: entry.role, content: entry.text }));
  }

  function apply(answerId: number, event: ChatStreamEvent) {
    update(answerId, (entry) => {
      if (entry.state !== 'streaming') return;
      switch (event.type) {
        case 'delta':
          entry.text += event.text;
          return;
        case 'done':
          entry.state = 'done';
          if (event.finishReason === 'length') entry.note = 'Stopped at the model’s length limit.';
          return;
        case 'cut':
          entry.state = 'cut';
          entry.note = `Cut off — ${GRANT_END_TEXT[event.reason] ?? event.reason}`;
          return;
        case 'error':
          entry.state = 'failed';
          entry.note = event.message;
          return;
      }
    });
  }

  async function send(model: ModelView, text: string): Promise<boolean> {
    if (streaming()) return false;
    setError(undefined);
    const messages: ChatMessage[] = [...history(), { role: 'user', content: text }];
    const questionId = nextId++;
    const answerId = nextId++;
    setEntries(entries.length, { id: questionId, role: 'user', text, state: 'done' });
    setEntries(entries.length, { id: answerId, role: 'assistant', text: '', modelName: model.displayName, state: 'streaming' });
    setStreaming(true);
    const mine = new AbortController();
    controller = mine;
    let started = false;
    try {
      await streamChat({ model: model.id, messages }, mine.signal, (event) => {
        started = true;
        apply(answerId, event);
      });
      update(answerId, (entry) => {
        if (entry.state !== 'streaming') return;
        entry.state = 'failed';
        entry.note = 'The answer ended unexpectedly.';
      });
      return true;
    } catch (cause) {
      if (mine.signal.aborted) {
        update(answerId, (entry) => {
          if (entry.state !== 'streaming') return;
          entry.state = 'cut';
          entry.note = `Cut off — ${GRANT_END_TEXT.stopped}`;
        });
        return true;
      }
      if (!started && cause instanceof ApiError && cause.status !== 0) {
        // Refused before anything streamed: take the message back so it can be sent again.
        setEntries((all) => all.filter((entry) => entry.id !== questionId && entry.id !== answerId));
        setError(cause);
        if (cause.code === 'GRANT_REQUIRED') options.onGrantRequired();
        return false;
      }
      update(answerId, (entry) => {
        entry.state = 'failed';
        entry.note = cause instanceof ApiError ? cause.message : 'The answer could not be read.';
      });
      return true;
    } finally {
      if (controller === mine) controller = undefined;
      setStreaming(false);
    }
  }

  return {
    entries,
    streaming,
    error,
    clearError: () => setError(undefined),
    send,
    stop: () => controller?.abort(),
  };
}
