/**
 * Step-up: sensitive changes need a fresh assertion with one of the user's own keys. The
 * server answers 403 STEP_UP_REQUIRED when none is on record; `withStepUp` then gets one and
 * tries the change once more. Every account and admin change goes through it.
 */
import { createSignal } from 'solid-js';
import type { StepUpStatus } from '../../shared/api.ts';
import { SecurityKeyError } from '../lib/securityKey.ts';
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

/**
 * How long the page waits for the touch. The server's options allow two minutes; a person who
 * has not touched the key within one has walked away or has no key at hand, and the form they
 * were filling in should not stay stuck until the browser gives up.
 */
export const STEP_UP_WAIT_MS = 60_000;

/** Why a step-up is asked for: nothing fresh on record, or what is on record ends too soon. */
export type StepUpReason = 'stale' | 'ending';

/** A step-up waiting for its touch, as the step-up dialog shows it. */
export interface PendingStepUp {
  reason: StepUpReason;
  /** When the page stops waiting for the touch (Date.now() time). */
  waitsUntil: number;
  /** Stops waiting: the browser's prompt closes and the change is not sent. */
  cancel: () => void;
}

const [pending, setPending] = createSignal<PendingStepUp>();

/** The step-up waiting for a touch now, if any; one at a time, as browsers run one prompt. */
export const pendingStepUp = pending;

/** POST /api/account/step-up/options, a touch of a registered key, POST /api/account/step-up. */
export async function stepUp(reason: StepUpReason = 'stale'): Promise<StepUpStatus> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new SecurityKeyError('NOT_TOUCHED')), STEP_UP_WAIT_MS);
  const mine: PendingStepUp = {
    reason,
    waitsUntil: Date.now() + STEP_UP_WAIT_MS,
    cancel: () => controller.abort(new SecurityKeyError('STOPPED')),
  };
  // A newer step-up replaces an older one, as the browser's newer prompt does.
  pending()?.cancel();
  setPending(mine);
  try {
    return await assertionCeremony<StepUpStatus>('/api/account/step-up', undefined, controller.signal);
  } finally {
    clearTimeout(timer);
    setPending((current) => (current === mine ? undefined : current));
  }
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
  if (checkFirst) {
    const status = await fetchStepUpStatus();
    if (!isFresh(status)) await stepUp(status.validUntil === null ? 'stale' : 'ending');
  }
  try {
    return await change();
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 'STEP_UP_REQUIRED')) throw error;
  }
  await stepUp();
  return change();
}
