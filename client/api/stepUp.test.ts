import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from './http.ts';

const calls: string[] = [];
let stepUpStatus: { validUntil: string | null } = { validUntil: null };

vi.mock('./keyCeremonies.ts', () => ({
  assertionCeremony: vi.fn(async (path: string) => {
    calls.push(`touch ${path}`);
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

const { withStepUp } = await import('./stepUp.ts');

const stepUpRequired = () =>
  new ApiError({ code: 'STEP_UP_REQUIRED', status: 403, message: 'Touch your security key to continue.' });

beforeEach(() => {
  calls.length = 0;
  stepUpStatus = { validUntil: null };
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
