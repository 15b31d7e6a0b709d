/**
 * Restricted conversations on the chat screen: which are locked here and now, and what the
 * open one should do when the grant changes. No DOM and no Solid: tested in Node.
 *
 * The server decides what it sends (a locked conversation comes without title or messages);
 * this only ever locks sooner, the moment this tab's grant ends, before the server confirms.
 */
import type { ConversationView, ModelView } from '../../../shared/api.ts';

/** How a locked conversation is named in the sidebar and in its locked view (issue #21). */
export const LOCKED_LABEL = 'Restricted conversation — locked';

type Restriction = Pick<ConversationView, 'restricted' | 'restrictedModels'>;

/**
 * The models this tab's live grant unlocks; null: no live grant; undefined: not known yet
 * (just signed in or reloaded, the grant not asked yet), so the server's word stands.
 */
export type GrantModels = readonly string[] | null | undefined;

/**
 * A grant unlocking `grantModels` covers a conversation when it unlocks every restricted
 * model the conversation used. A standard conversation needs none.
 */
export function grantCovers(grantModels: GrantModels, conversation: Restriction): boolean {
  if (!conversation.restricted || grantModels === undefined) return true;
  if (grantModels === null) return false;
  return conversation.restrictedModels.every((model) => grantModels.includes(model));
}

/** Locked as this tab shows it: the server said so, or it is restricted and no live grant here covers it. */
export function isLockedHere(conversation: ConversationView, grantModels: GrantModels): boolean {
  return conversation.locked || !grantCovers(grantModels, conversation);
}

/** The title shown for a conversation: none while it is locked here. */
export function shownTitle(conversation: ConversationView, grantModels: GrantModels): string | null {
  return isLockedHere(conversation, grantModels) ? null : conversation.title;
}

/** The sidebar's search by title (`search` lower-case, trimmed): a locked conversation has no title to match. */
export function matchesSearch(conversation: ConversationView, search: string, grantModels: GrantModels): boolean {
  if (search === '') return true;
  const title = shownTitle(conversation, grantModels);
  return title !== null && title.toLocaleLowerCase().includes(search);
}

/** What may stay on screen of a conversation once it is locked: its metadata, without the title. */
export function lockedMetadata(conversation: ConversationView): ConversationView {
  return { ...conversation, title: null, locked: true };
}

/**
 * The conversation once an answer from `model` has started in it: a restricted model makes it
 * restricted from then on, as the server records it.
 */
export function afterAnswerFrom(conversation: ConversationView, model: Pick<ModelView, 'id' | 'tier'>): ConversationView {
  if (model.tier !== 'restricted') return conversation;
  const restrictedModels = conversation.restrictedModels ?? [];
  if (conversation.restricted && restrictedModels.includes(model.id)) return conversation;
  return {
    ...conversation,
    restricted: true,
    restrictedModels: restrictedModels.includes(model.id) ? restrictedModels : [...restrictedModels, model.id],
  };
}

/** The restricted models a locked conversation used, by name, for its locked view. */
export function restrictedModelNames(conversation: ConversationView, models: readonly ModelView[]): string[] {
  const ids = conversation.restrictedModels.length > 0 ? conversation.restrictedModels : [conversation.model];
  return ids.filter((id) => id !== '').map((id) => models.find((model) => model.id === id)?.displayName ?? id);
}

/** "A", "A and B", "A, B and C". */
export function listText(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/**
 * What the open conversation does when this tab's grant changes (`grantModels` null: it
 * ended): a restricted one that the grant no longer covers is locked at once, its messages
 * removed; a locked one the new grant covers is read again.
 */
export function onGrantChange(options: {
  /** The open conversation, if it has loaded (or just been created). */
  open: ConversationView | undefined;
  /** It shows its locked view now. */
  locked: boolean;
  grantModels: GrantModels;
}): 'lock' | 'reveal' | 'none' {
  const { open, locked, grantModels } = options;
  if (!open) return 'none';
  if (locked) return Array.isArray(grantModels) && grantCovers(grantModels, { ...open, restricted: true }) ? 'reveal' : 'none';
  return grantCovers(grantModels, open) ? 'none' : 'lock';
}
