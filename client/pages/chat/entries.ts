/** What the chat screen shows for each message, live or stored. No DOM and no router: tested in Node. */
import type { MessageView } from '../../../shared/api.ts';

export type EntryState = 'streaming' | 'done' | 'cut' | 'failed';

export interface ChatEntry {
  /** Stable while on screen: the stored message's id, or a local one for a message being sent. */
  key: string;
  role: 'user' | 'assistant';
  text: string;
  /** Assistant entries: the id of the model that answered. */
  model: string | null;
  state: EntryState;
  /** How an answer ended when it did not simply finish: "Cut off — security key removed". */
  note?: string;
}

/** What a stream's `error` event means when it comes without words of its own. */
export const STREAM_ERROR_TEXT: Record<string, string> = {
  MODEL_UNREACHABLE: 'The model server cannot be reached.',
  MODEL_ERROR: 'The model failed while answering.',
  MODEL_TIMEOUT: 'The model took too long to answer.',
  MODEL_BAD_RESPONSE: 'The model sent an answer that could not be read.',
};

const CUT_OFF = 'Cut off — ';

/**
 * "Cut off — security key removed", live or stored: the server's note ("Cut off: the
 * security key was removed.", "Stopped before the end.") is put into the same words' shape.
 */
export function cutNote(reason: string | null | undefined): string {
  const why = (reason ?? '').replace(/^cut off\s*[:—–-]?\s*/i, '').replace(/\.$/, '').trim();
  if (!why) return `${CUT_OFF}the answer stopped early`;
  return CUT_OFF + why.charAt(0).toLowerCase() + why.slice(1);
}

/** A stored message as it is shown. */
export function entryOf(message: MessageView): ChatEntry {
  const base = { key: message.id, role: message.role, text: message.content, model: message.model };
  switch (message.status) {
    case 'complete':
      return { ...base, state: 'done', note: message.note ?? undefined };
    case 'cut_off':
      return { ...base, state: 'cut', note: cutNote(message.note) };
    case 'error':
      return { ...base, state: 'failed', note: message.note || 'The model could not answer.' };
    case 'streaming':
      // Being written by another tab, or left unfinished: nothing streams into it here.
      return { ...base, state: 'cut', note: 'This answer was still being written when the conversation opened. Reload to see the rest.' };
  }
}
