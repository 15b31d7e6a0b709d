import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from './http.ts';

const calls: string[] = [];
let stepUpStatus: { validUntil: string | null } = { validUntil: null };
/** When false, the key is never touched: the ceremony waits until its signal aborts, as the browser does. */
let touched = true;

vi.mock('./keyCeremonies.ts', () => ({
  assertionCeremony: vi.fn(async (path: string, _details: unknown, signal?: AbortSignal) => {
    calls.push(`touch ${path}`);
    if (!touched) {
      await new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
    }
    return { validUntil: new Date(Date.now() + 300_000).toISOString() };
  }),
}));
vi.mock('./http.ts', async (original) => ({
  ...(await original<typeof import('./http.ts')>()),
  request: vi.fn(async (method: string, path: string) => {
    calls.push(`${method} ${path}`);
    return stepUpStatus;
  }),
}));

const { withStepUp, stepUp, pendingStepUp, STEP_UP_WAIT_MS } = await import('./stepUp.ts');

const stepUpRequired = () =>
  new ApiError({ code: 'STEP_UP_REQUIRED', status: 403, message: 'Touch your security key to continue.' });

beforeEach(() => {
  calls.length = 0;
  stepUpStatus = { validUntil: null };
  touched = true;
  vi.useRealTimers();
});

describe('withStepUp', () => {
  it('runs the change alone when the server does not ask', async () => {
    expect(await withStepUp(async () => 'changed')).toBe('changed');
    expect(calls).toEqual([]);
  });

  it('steps up and retries once after STEP_UP_REQUIRED', async () => {
    const change = vi.fn().mockRejectedValueOnce(stepUpRequired()).mockResolvedValueOnce('changed');
    expect(await withStepUp(change)).toBe('changed');
    expect(change).toHaveBeenCalledTimes(2);
    expect(calls).toEqual(['touch /api/account/step-up']);
  });

  it('gives up when the server asks again after the step-up', async () => {
    const change = vi.fn().mockRejectedValue(stepUpRequired());
    await expect(withStepUp(change)).rejects.toMatchObject({ code: 'STEP_UP_REQUIRED' });
    expect(change).toHaveBeenCalledTimes(2);
    expect(calls).toEqual(['touch /api/account/step-up']);
  });

  it('passes other failures through without a touch', async () => {
    const refused = new ApiError({ code: 'LAST_KEY', status: 409, message: 'last key' });
    await expect(withStepUp(() => Promise.reject(refused))).rejects.toBe(refused);
    expect(calls).toEqual([]);
  });

  it('with checkFirst, steps up before the change when nothing fresh is on record', async () => {
    const change = vi.fn(async () => {
      calls.push('change');
      return 'changed';
    });
    await withStepUp(change, { checkFirst: true });
    expect(calls).toEqual(['GET /api/account/step-up', 'touch /api/account/step-up', 'change']);
  });

  it('with checkFirst, counts a step-up about to end as gone', async () => {
    stepUpStatus = { validUntil: new Date(Date.now() + 5_000).toISOString() };
    await withStepUp(async () => 'changed', { checkFirst: true });
    expect(calls).toContain('touch /api/account/step-up');
  });

  it('with checkFirst, skips the touch while a step-up is fresh', async () => {
    stepUpStatus = { validUntil: new Date(Date.now() + 240_000).toISOString() };
    await withStepUp(async () => 'changed', { checkFirst: true });
    expect(calls).toEqual(['GET /api/account/step-up']);
  });
});

describe('stepUp', () => {
  it('is pending (for the dialog) while it waits, and not after', async () => {
    const done = stepUp();
    expect(pendingStepUp()?.reason).toBe('stale');
    await done;
    expect(pendingStepUp()).toBeUndefined();
  });

  it('Cancel stops the wait: STOPPED, and the change is never sent', async () => {
    touched = false;
    const change = vi.fn().mockRejectedValueOnce(stepUpRequired()).mockResolvedValueOnce('changed');
    const attempt = withStepUp(change);
    await vi.waitFor(() => expect(pendingStepUp()).toBeDefined());
    pendingStepUp()!.cancel();
    await expect(attempt).rejects.toMatchObject({ name: 'SecurityKeyError', code: 'STOPPED' });
    expect(change).toHaveBeenCalledTimes(1);
    expect(pendingStepUp()).toBeUndefined();
  });

  it('stops waiting by itself after STEP_UP_WAIT_MS: NOT_TOUCHED', async () => {
    vi.useFakeTimers();
    touched = false;
    const attempt = stepUp();
    const outcome = expect(attempt).rejects.toMatchObject({ code: 'NOT_TOUCHED' });
    await vi.advanceTimersByTimeAsync(STEP_UP_WAIT_MS - 1);
    expect(pendingStepUp()).toBeDefined();
    await vi.advanceTimersByTimeAsync(1);
    await outcome;
    expect(pendingStepUp()).toBeUndefined();
  });

  it('with checkFirst, says why: nothing on record, or what is on record ends too soon', async () => {
    touched = false;
    const reasons: string[] = [];
    for (const validUntil of [null, new Date(Date.now() + 5_000).toISOString()]) {
      stepUpStatus = { validUntil };
      const attempt = withStepUp(async () => 'changed', { checkFirst: true });
      await vi.waitFor(() => expect(pendingStepUp()).toBeDefined());
      reasons.push(pendingStepUp()!.reason);
      pendingStepUp()!.cancel();
      await expect(attempt).rejects.toMatchObject({ code: 'STOPPED' });
    }
    expect(reasons).toEqual(['stale', 'ending']);
  });
});
