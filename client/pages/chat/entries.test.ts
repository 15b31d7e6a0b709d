import { describe, expect, it } from 'vitest';
import type { MessageView } from '../../../shared/api.ts';
import { cutNote, entryOf } from './entries.ts';

const stored = (change: Partial<MessageView>): MessageView => ({
  id: 'm1',
  role: 'assistant',
  content: 'Part of an answer',
  model: 'demo',
  status: 'complete',
  note: null,
  createdAt: '2026-01-01T00:00:00Z',
  ...change,
});

describe('cutNote', () => {
  it('says "Cut off — …" whether the reason came live or stored', () => {
    expect(cutNote('security key removed')).toBe('Cut off — security key removed');
    expect(cutNote('Cut off: the security key was removed.')).toBe('Cut off — the security key was removed');
    expect(cutNote('Stopped before the end.')).toBe('Cut off — stopped before the end');
    expect(cutNote(null)).toBe('Cut off — the answer stopped early');
  });
});

describe('entryOf', () => {
  it('keeps what a cut-off answer wrote and says why it stopped', () => {
    expect(entryOf(stored({ status: 'cut_off', note: 'Cut off: access to restricted models expired.' }))).toMatchObject({
      key: 'm1',
      text: 'Part of an answer',
      state: 'cut',
      note: 'Cut off — access to restricted models expired',
    });
  });

  it('shows a failed answer with the model’s error, or a fallback when there is none', () => {
    expect(entryOf(stored({ status: 'error', content: '', note: 'The model server cannot be reached' }))).toMatchObject({
      state: 'failed',
      note: 'The model server cannot be reached',
    });
    expect(entryOf(stored({ status: 'error', note: null })).note).toBe('The model could not answer.');
  });

  it('never leaves an answer stored as streaming looking alive', () => {
    expect(entryOf(stored({ status: 'streaming' }))).toMatchObject({ state: 'cut' });
  });
});
