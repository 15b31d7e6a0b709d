import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deltaEventText, eventText } from './streamAnswer.ts';

describe('the per-token event text', () => {
  it('is exactly what the generic event writer sends, for any text (quotes, controls, surrogates, emoji)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(deltaEventText(text)).toBe(eventText({ type: 'delta', text }));
      }),
      { numRuns: 2_000 },
    );
    for (const text of ['', '"', '\\', '\n\r\t', '\u2028\u2029', '\ud800', '😀', '</script>']) expect(deltaEventText(text)).toBe(eventText({ type: 'delta', text }));
  });
});
