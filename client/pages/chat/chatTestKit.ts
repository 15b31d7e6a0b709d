import type { ConversationView, ModelView } from '../../../shared/api.ts';

/**
 * Fixtures for the chat page's tests: a conversation's metadata and a model, as the server
 * sends them. Each builder gives a restricted conversation (or a demo model) and takes what
 * a test changes.
 */

/** A restricted conversation, readable (not locked), that used the demo restricted model. */
export const conversationView = (change: Partial<ConversationView> = {}): ConversationView => ({
  id: 'c1',
  title: 'Quarterly numbers',
  model: 'demo-restricted',
  createdAt: '2026-12-06T10:00:00Z',
  updatedAt: '2026-12-06T10:05:00Z',
  restricted: true,
  restrictedModels: ['demo-restricted'],
  locked: false,
  ...change,
});

/** A conversation only standard models answered in. */
export const standardConversation = (change: Partial<ConversationView> = {}): ConversationView =>
  conversationView({ title: 'Lunch ideas', model: 'demo-standard', restricted: false, restrictedModels: [], ...change });

/** A demo model of `tier`; standard models come unlocked, restricted ones locked unless `change` says otherwise. */
export const modelView = (id: string, tier: ModelView['tier'], change: Partial<ModelView> = {}): ModelView => ({
  id,
  displayName: id,
  description: '',
  tier,
  demo: true,
  unlocked: tier === 'standard',
  requiresUserVerification: false,
  grantSeconds: 300,
  ...change,
});
