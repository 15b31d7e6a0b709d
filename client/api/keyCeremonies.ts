/**
 * The two WebAuthn ceremonies as Argus runs them: options from `${path}/options`, the key
 * touch, the answer to `path`. Every call starts from fresh options, so trying again after
 * an expired or used challenge (CHALLENGE_INVALID) needs nothing special.
 */
import type { KeyAssertionRequest, KeyRegistrationRequest, WebAuthnOptionsResponse } from '../../shared/api.ts';
import { grantedFidoDevice } from '../lib/hid.ts';
import { createCredential, getAssertion } from '../lib/securityKey.ts';
import { request } from './http.ts';

/**
 * Proves possession of a registered key to `path` (sign-in, step-up, unlocking restricted
 * models). `details`, if given, adds fields to the answer; it runs after the touch, when the
 * key is surely plugged in. `signal` stops the wait for options or for the touch; once the
 * key has answered, the answer is sent regardless.
 */
export async function assertionCeremony<T, D extends object = object>(
  path: string,
  details?: () => Promise<D>,
  signal?: AbortSignal,
): Promise<T> {
  const { options } = await request<WebAuthnOptionsResponse>('POST', `${path}/options`, signal ? { signal } : {});
  const response = await getAssertion(options, signal);
  const body: KeyAssertionRequest & D = { ...((await details?.()) as D), response };
  return request<T>('POST', path, { body });
}

/** Registers a new key at `path` (enrollment, account), named `nickname` if one is given. */
export async function registrationCeremony<T>(path: string, nickname: string): Promise<T> {
  const { options } = await request<WebAuthnOptionsResponse>('POST', `${path}/options`);
  const response = await createCredential(options);
  // Looked up after the touch, when the key is surely plugged in. Metadata, never proof.
  const hid = await grantedFidoDevice();
  const body: KeyRegistrationRequest = { response };
  if (nickname) body.nickname = nickname;
  if (hid) body.hid = hid;
  return request<T>('POST', path, { body });
}
