import { describe, expect, it } from 'vitest';
import { checkPassword } from './passwordPolicy.ts';

describe('checkPassword', () => {
  const username = 'alice';

  it('accepts a long, uncommon password', () => {
    expect(checkPassword({ password: 'violet tugboat arithmetic', username })).toEqual({ ok: true });
  });

  it('refuses fewer than 12 characters, counting code points', () => {
    expect(checkPassword({ password: 'short pass1', username })).toMatchObject({ ok: false, message: expect.stringMatching(/at least 12/) });
    // Twelve emoji are twelve characters to a person (24 UTF-16 units).
    expect(checkPassword({ password: '🔑🔐🗝️🔒🔓🛡️🔑🔐', username }).ok).toBe(false);
  });

  it('refuses passwords longer than the maximum', () => {
    expect(checkPassword({ password: 'x'.repeat(100) + 'y'.repeat(157), username }).ok).toBe(false);
  });

  it('refuses common passwords regardless of case', () => {
    expect(checkPassword({ password: 'Password1234', username })).toMatchObject({ ok: false, message: expect.stringMatching(/common/) });
    expect(checkPassword({ password: 'QWERTYUIOPAS', username }).ok).toBe(false);
  });

  it('refuses a password containing the username or made of one or two characters', () => {
    expect(checkPassword({ password: 'my-name-is-alice!', username })).toMatchObject({ ok: false, message: expect.stringMatching(/username/) });
    expect(checkPassword({ password: 'abababababab', username }).ok).toBe(false);
  });
});
