/** Conversations: request and response types of the JSON API. */
export const CONVERSATION_TITLE_MAX = 120;
export const MESSAGE_MAX_CHARS = 32_000;

export interface ConversationView {
  id: string;
  /**
   * null while `locked`: a restricted conversation's title is stored encrypted and shown only
   * under a live grant covering its restricted models.
   */
  title: string | null;
  /** The model last used in this conversation. */
  model: string;
  createdAt: string;
  updatedAt: string;
  /**
   * It has used a restricted model at least once: its title and messages are encrypted at rest
   * (AES-256-GCM) and readable only under a live grant covering `restrictedModels`.
   */
  restricted: boolean;
  /** The restricted models it has used: what a grant must cover to read it. Empty when not restricted. */
  restrictedModels: string[];
  /** Restricted, and this session holds no live grant covering it: no title, no messages. */
  locked: boolean;
}

/**
 * 'complete': the answer finished; 'cut_off': it stopped early (grant ended, stopped by the
 * user) and keeps what was written; 'error': the model failed; 'streaming': being written now.
 */
export type MessageStatus = 'complete' | 'cut_off' | 'error' | 'streaming';

export interface MessageView {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  model: string | null;
  status: MessageStatus;
  /** Why an answer was cut off or failed, in words for people. */
  note: string | null;
  createdAt: string;
}

/** GET /api/conversations */
export interface ConversationListResponse {
  conversations: ConversationView[];
  nextCursor: string | null;
}

/** POST /api/conversations */
export interface CreateConversationRequest {
  model: string;
  title?: string;
}

/** POST /api/conversations, PATCH /api/conversations/:id: the conversation without its messages. */
export interface ConversationViewResponse {
  conversation: ConversationView;
}

/** GET /api/conversations/:id */
export interface ConversationResponse {
  conversation: ConversationView;
  messages: MessageView[];
}

/** PATCH /api/conversations/:id */
export interface RenameConversationRequest {
  title: string;
}

/**
 * POST /api/conversations/:id/messages — answers text/event-stream (ChatStreamEvent).
 * POST /api/conversations/:id/retry — the same, re-answering the last user message.
 */
export interface SendMessageRequest {
  content: string;
  model: string;
}

export interface RetryRequest {
  model?: string;
}
