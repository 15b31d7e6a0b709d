import { describe, expect, it } from 'vitest';
import { conversationView as conversation, modelView as model, standardConversation } from './chatTestKit.ts';
import {
  afterAnswerFrom,
  grantCovers,
  isLockedHere,
  listText,
  lockedMetadata,
  matchesSearch,
  onGrantChange,
  restrictedModelNames,
  shownTitle,
} from './restricted.ts';

const standard = standardConversation();

describe('grantCovers', () => {
  it('needs a grant unlocking every restricted model the conversation used', () => {
    const both = conversation({ restrictedModels: ['r1', 'r2'] });
    expect(grantCovers(['r1', 'r2', 'r3'], both)).toBe(true);
    expect(grantCovers(['r1'], both)).toBe(false);
    expect(grantCovers([], both)).toBe(false);
    expect(grantCovers(null, both)).toBe(false);
  });

  it('asks nothing of a standard conversation', () => {
    expect(grantCovers(null, standard)).toBe(true);
  });

  it('leaves it to the server while the grant is not known yet', () => {
    expect(grantCovers(undefined, conversation())).toBe(true);
  });
});

describe('isLockedHere and the title shown', () => {
  it('locks a restricted conversation the moment no grant here covers it, before the server says so', () => {
    const readable = conversation();
    expect(isLockedHere(readable, ['demo-restricted'])).toBe(false);
    expect(shownTitle(readable, ['demo-restricted'])).toBe('Quarterly numbers');
    expect(isLockedHere(readable, null)).toBe(true);
    expect(shownTitle(readable, null)).toBeNull();
  });

  it('never unlocks what the server sent locked, whatever the grant here', () => {
    const locked = conversation({ title: null, locked: true });
    expect(isLockedHere(locked, ['demo-restricted'])).toBe(true);
    expect(isLockedHere(locked, undefined)).toBe(true);
  });

  it('shows a standard conversation as it is, grant or not', () => {
    expect(isLockedHere(standard, null)).toBe(false);
    expect(shownTitle(standard, null)).toBe('Lunch ideas');
  });
});

describe('matchesSearch', () => {
  it('never matches a locked conversation, even on words of its real title', () => {
    expect(matchesSearch(conversation(), 'quarterly', ['demo-restricted'])).toBe(true);
    expect(matchesSearch(conversation(), 'quarterly', null)).toBe(false);
    expect(matchesSearch(conversation({ title: null, locked: true }), 'restricted', ['demo-restricted'])).toBe(false);
  });

  it('shows every conversation, locked ones too, without a search', () => {
    expect(matchesSearch(conversation({ title: null, locked: true }), '', null)).toBe(true);
  });

  it('matches standard titles as before', () => {
    expect(matchesSearch(standard, 'lunch', null)).toBe(true);
    expect(matchesSearch(standard, 'dinner', null)).toBe(false);
  });
});

describe('lockedMetadata', () => {
  it('keeps what the conversation is, drops its title', () => {
    expect(lockedMetadata(conversation())).toEqual(conversation({ title: null, locked: true }));
  });
});

describe('afterAnswerFrom', () => {
  it('makes a conversation restricted once a restricted model answers in it', () => {
    const marked = afterAnswerFrom(standard, model('demo-restricted', 'restricted'));
    expect(marked).toMatchObject({ restricted: true, restrictedModels: ['demo-restricted'] });
  });

  it('adds a second restricted model once, and leaves it as it was for a standard answer', () => {
    const once = afterAnswerFrom(conversation(), model('other-restricted', 'restricted'));
    expect(once.restrictedModels).toEqual(['demo-restricted', 'other-restricted']);
    const same = conversation();
    expect(afterAnswerFrom(same, model('demo-restricted', 'restricted'))).toBe(same);
    expect(afterAnswerFrom(same, model('demo-standard', 'standard'))).toBe(same);
  });
});

describe('restrictedModelNames and listText', () => {
  it('names the restricted models by their display names, or their ids when unknown', () => {
    const models = [model('demo-restricted', 'restricted', { displayName: 'Demo Restricted' })];
    expect(restrictedModelNames(conversation({ restrictedModels: ['demo-restricted', 'gone'] }), models)).toEqual([
      'Demo Restricted',
      'gone',
    ]);
    // Metadata without the list: the model it last used; without that either, nothing to name.
    expect(restrictedModelNames(conversation({ restrictedModels: [] }), models)).toEqual(['Demo Restricted']);
    expect(restrictedModelNames(conversation({ restrictedModels: [], model: '' }), models)).toEqual([]);
  });

  it('joins names as a sentence does', () => {
    expect(listText([])).toBe('');
    expect(listText(['A'])).toBe('A');
    expect(listText(['A', 'B'])).toBe('A and B');
    expect(listText(['A', 'B', 'C'])).toBe('A, B and C');
  });
});

describe('onGrantChange', () => {
  it('locks an open restricted conversation when the grant ends, or no longer covers it', () => {
    expect(onGrantChange({ open: conversation(), locked: false, grantModels: null })).toBe('lock');
    expect(onGrantChange({ open: conversation(), locked: false, grantModels: ['other'] })).toBe('lock');
    expect(onGrantChange({ open: conversation(), locked: false, grantModels: ['demo-restricted'] })).toBe('none');
  });

  it('reads a locked conversation again once a grant covers it', () => {
    const locked = conversation({ title: null, locked: true });
    expect(onGrantChange({ open: locked, locked: true, grantModels: ['demo-restricted'] })).toBe('reveal');
    expect(onGrantChange({ open: locked, locked: true, grantModels: ['other'] })).toBe('none');
    expect(onGrantChange({ open: locked, locked: true, grantModels: null })).toBe('none');
    // Metadata without its models (an older server's refusal): any grant is worth a read.
    expect(onGrantChange({ open: conversation({ restrictedModels: [] }), locked: true, grantModels: ['x'] })).toBe('reveal');
  });

  it('leaves a standard conversation, and no conversation, as they are', () => {
    expect(onGrantChange({ open: standard, locked: false, grantModels: null })).toBe('none');
    expect(onGrantChange({ open: undefined, locked: false, grantModels: null })).toBe('none');
  });
});
