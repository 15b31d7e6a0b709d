/**
 * Step-up: sensitive changes need a fresh assertion with one of the user's own keys. The
 * server answers 403 STEP_UP_REQUIRED when none is on record; `withStepUp` then gets one and
 * tries the change once more. Every account and admin change goes through it.
 */
import type { StepUpStatus } from '../../shared/api.ts';
import { ApiError, request } from './http.ts';
import { assertionCeremony } from './keyCeremonies.ts';

/**
 * A step-up this close to its end counts as gone: a change that needs a second touch (a new
 * key) would otherwise start on a valid step-up and finish on an expired one.
 */
const STEP_UP_MARGIN_MS = 30_000;

/** GET /api/account/step-up */
export function fetchStepUpStatus(): Promise<StepUpStatus> {
  return request<StepUpStatus>('GET', '/api/account/step-up');
}

function isFresh(status: StepUpStatus): boolean {
  return status.validUntil !== null && Date.parse(status.validUntil) - STEP_UP_MARGIN_MS > Date.now();
}

/** POST /api/account/step-up/options, a touch of a registered key, POST /api/account/step-up. */
export function stepUp(): Promise<StepUpStatus> {
  return assertionCeremony<StepUpStatus>('/api/account/step-up');
}

export interface StepUpOptions {
  /**
   * Ask the server first and step up before `change` when nothing fresh is on record. For
   * changes that need a touch of their own (adding a key), so that touch is not wasted.
   */
  checkFirst?: boolean;
}

/** Runs `change`, stepping up first or after a STEP_UP_REQUIRED, and retrying once. */
export async function withStepUp<T>(change: () => Promise<T>, options: StepUpOptions = {}): Promise<T> {
  const { checkFirst = false } = options;
  if (checkFirst && !isFresh(await fetchStepUpStatus())) await stepUp();
  try {
    return await change();
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 'STEP_UP_REQUIRED')) throw error;
  }
  await stepUp();
  return change();
}
