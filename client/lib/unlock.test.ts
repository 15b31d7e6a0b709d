import { describe, expect, it } from 'vitest';
import { createUnlockMachine, isOwnMismatchEcho, refusalReason, unlockThenSend, type UnlockState } from './unlock.ts';

const mismatch = Object.assign(new Error('This key belongs to another account.'), { name: 'ApiError', code: 'KEY_MISMATCH', status: 403 });
const cancelled = Object.assign(new Error('closed'), { name: 'SecurityKeyError', code: 'CANCELLED' });
const offline = Object.assign(new Error('offline'), { name: 'ApiError', code: 'SERVICE_UNAVAILABLE', status: 0 });

describe('refusalReason', () => {
  it('tells another user’s key, a closed prompt, an unreachable server and the rest apart', () => {
    expect(refusalReason(mismatch)).toBe('key_mismatch');
    expect(refusalReason(cancelled)).toBe('cancelled');
    expect(refusalReason(Object.assign(new Error(), { name: 'SecurityKeyError', code: 'KEY_FAILED' }))).toBe('refused');
    expect(refusalReason(offline)).toBe('unreachable');
    expect(refusalReason({ code: 'INTERNAL', status: 503 })).toBe('unreachable');
    expect(refusalReason({ code: 'NO_ACTIVE_KEY', status: 403 })).toBe('refused');
    expect(refusalReason('nonsense')).toBe('refused');
  });
});

describe('createUnlockMachine', () => {
  it('goes idle → touching → unlocked', async () => {
    const seen: UnlockState[] = [];
    const machine = createUnlockMachine((state) => seen.push(state));
    let release!: () => void;
    const running = machine.run(() => new Promise<void>((resolve) => (release = resolve)), 'send');
    expect(machine.state()).toEqual({ phase: 'touching', intent: 'send' });
    expect(machine.touching()).toBe(true);
    release();
    expect(await running).toBe(true);
    expect(seen.map((state) => state.phase)).toEqual(['touching', 'unlocked']);
  });

  it('says why a touch was refused, and keeps the error to show', async () => {
    const machine = createUnlockMachine();
    expect(await machine.run(() => Promise.reject(mismatch))).toBe(false);
    expect(machine.state()).toEqual({ phase: 'refused', reason: 'key_mismatch', error: mismatch });
    machine.reset();
    expect(machine.state()).toEqual({ phase: 'idle' });
  });

  it('ignores a second touch while one is under way', async () => {
    const machine = createUnlockMachine();
    let calls = 0;
    let release!: () => void;
    const first = machine.run(() => {
      calls += 1;
      return new Promise<void>((resolve) => (release = resolve));
    });
    expect(await machine.run(async () => void (calls += 1))).toBe(false);
    release();
    expect(await first).toBe(true);
    expect(calls).toBe(1);
  });

  it('a touch that outlives a reset (sign-out) says nothing afterwards', async () => {
    const machine = createUnlockMachine();
    let fail!: (error: unknown) => void;
    const running = machine.run(() => new Promise<void>((_, reject) => (fail = reject)));
    machine.reset();
    fail(mismatch);
    expect(await running).toBe(false);
    expect(machine.state()).toEqual({ phase: 'idle' });
  });
});

describe('unlockThenSend', () => {
  it('sends at once when the model is open, with no touch', async () => {
    const calls: string[] = [];
    const outcome = await unlockThenSend({
      locked: () => false,
      unlock: async () => (calls.push('unlock'), true),
      send: async () => (calls.push('send'), true),
    });
    expect(outcome).toBe('sent');
    expect(calls).toEqual(['send']);
  });

  it('touches, then sends, when the model is locked', async () => {
    let locked = true;
    const calls: string[] = [];
    const outcome = await unlockThenSend({
      locked: () => locked,
      unlock: async () => {
        calls.push('unlock');
        locked = false;
        return true;
      },
      send: async () => (calls.push('send'), true),
    });
    expect(outcome).toBe('sent');
    expect(calls).toEqual(['unlock', 'send']);
  });

  it('sends nothing when the touch is refused', async () => {
    const calls: string[] = [];
    const outcome = await unlockThenSend({ locked: () => true, unlock: async () => false, send: async () => (calls.push('send'), true) });
    expect(outcome).toBe('refused');
    expect(calls).toEqual([]);
  });

  it('sends nothing when the new grant does not cover the model', async () => {
    const calls: string[] = [];
    const outcome = await unlockThenSend({ locked: () => true, unlock: async () => true, send: async () => (calls.push('send'), true) });
    expect(outcome).toBe('locked');
    expect(calls).toEqual([]);
  });
});

describe('isOwnMismatchEcho', () => {
  it('is the echo while touching or shortly after this tab’s own mismatch', () => {
    expect(isOwnMismatchEcho({ now: 10_000, ownMismatchAt: Number.NEGATIVE_INFINITY, touching: true })).toBe(true);
    expect(isOwnMismatchEcho({ now: 10_000, ownMismatchAt: 6_000, touching: false })).toBe(true);
    expect(isOwnMismatchEcho({ now: 11_000, ownMismatchAt: 6_000, touching: false })).toBe(false);
    expect(isOwnMismatchEcho({ now: 10_000, ownMismatchAt: Number.NEGATIVE_INFINITY, touching: false })).toBe(false);
  });
});
