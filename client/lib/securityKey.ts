/**
 * The browser's half of the WebAuthn ceremonies: @simplewebauthn/browser, with every way the
 * browser can refuse turned into a SecurityKeyError a person can act on.
 */
import {
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  WebAuthnAbortService,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/browser';
import { createSignal } from 'solid-js';
import type { WebAuthnOptionsJSON, WebAuthnResponseJSON } from '../../shared/api.ts';

export type SecurityKeyErrorCode =
  | 'CANCELLED'
  | 'STOPPED'
  | 'NOT_TOUCHED'
  | 'ALREADY_REGISTERED'
  | 'INTERRUPTED'
  | 'UNSUPPORTED_BROWSER'
  | 'ADDRESS_REFUSED'
  | 'KEY_UNSUITABLE'
  | 'BAD_OPTIONS'
  | 'KEY_FAILED';

const MESSAGES: Record<SecurityKeyErrorCode, string> = {
  CANCELLED: 'The security key prompt was closed or timed out. Try again.',
  STOPPED: 'Cancelled. Nothing was changed.',
  NOT_TOUCHED: 'Your key was not touched in time. Nothing was changed; try again.',
  ALREADY_REGISTERED: 'This key is already registered.',
  INTERRUPTED: 'The security key prompt was interrupted by another one. Try again.',
  UNSUPPORTED_BROWSER: 'This browser cannot use security keys. Use a current Chrome, Edge, Firefox or Safari.',
  ADDRESS_REFUSED:
    'The browser refused to use a security key on this address. Ask an administrator to check the address Argus is configured for.',
  KEY_UNSUITABLE: 'This security key cannot do what Argus asks (a PIN or fingerprint, for example). Try another key.',
  BAD_OPTIONS: 'Argus sent a security key request this page could not read. Reload and try again.',
  KEY_FAILED: 'The security key could not complete the request. Try again, or try another key.',
};

/** A WebAuthn prompt that did not give us a credential, for a reason a person can act on. */
export class SecurityKeyError extends Error {
  override readonly name = 'SecurityKeyError';
  readonly code: SecurityKeyErrorCode;

  constructor(code: SecurityKeyErrorCode, cause?: unknown) {
    super(MESSAGES[code], { cause });
    this.code = code;
  }
}

function securityKeyErrorFrom(error: unknown): SecurityKeyError {
  if (error instanceof SecurityKeyError) return error;
  // @simplewebauthn/browser's WebAuthnError keeps the DOMException's name, so one switch
  // reads both; its `code` adds nothing a person could act on.
  switch (error instanceof Error ? error.name : undefined) {
    // Cancelled, timed out, or (Chrome) a key with no credential here was touched.
    case 'NotAllowedError':
      return new SecurityKeyError('CANCELLED', error);
    // Only registration raises it: the key holds a credential listed in excludeCredentials.
    case 'InvalidStateError':
      return new SecurityKeyError('ALREADY_REGISTERED', error);
    case 'AbortError':
      return new SecurityKeyError('INTERRUPTED', error);
    case 'SecurityError':
      return new SecurityKeyError('ADDRESS_REFUSED', error);
    case 'ConstraintError':
    case 'NotSupportedError':
      return new SecurityKeyError('KEY_UNSUITABLE', error);
    default:
      return new SecurityKeyError('KEY_FAILED', error);
  }
}

/** Whether the person cancelled the prompt from the page: nothing to alert them about. */
export function isStoppedByUser(error: unknown): boolean {
  return error instanceof SecurityKeyError && error.code === 'STOPPED';
}

/** Why a prompt ended on `signal`: its reason when that is ours to tell, else a plain stop. */
function stoppedBy(signal: AbortSignal): SecurityKeyError {
  return signal.reason instanceof SecurityKeyError ? signal.reason : new SecurityKeyError('STOPPED', signal.reason);
}

export type KeyCeremony = 'assertion' | 'registration';

interface RunningCeremony {
  kind: KeyCeremony;
}

const [running, setRunning] = createSignal<RunningCeremony>();

/**
 * Which security key prompt the browser is showing now, if any. Browsers run one at a time,
 * so one value serves the whole page: a flow needing two touches tells them apart by it.
 */
export const keyCeremony = (): KeyCeremony | undefined => running()?.kind;

async function prompt<T>(
  kind: KeyCeremony,
  options: WebAuthnOptionsJSON,
  ceremony: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  if (signal?.aborted) throw stoppedBy(signal);
  // Fail before the prompt rather than with a TypeError from inside the library.
  if (!browserSupportsWebAuthn()) throw new SecurityKeyError('UNSUPPORTED_BROWSER');
  // Options come from Argus's own endpoints; a missing challenge means the page is stale or broken.
  if (typeof options.challenge !== 'string') {
    throw new SecurityKeyError(
      'BAD_OPTIONS',
      new TypeError(`expected options.challenge to be a string, got ${typeof options.challenge}`),
    );
  }
  const mine: RunningCeremony = { kind };
  setRunning(mine);
  // @simplewebauthn/browser hands navigator.credentials an AbortController of its own; its
  // abort service aborts that one. Only while this prompt is the one running.
  const abort = () => {
    if (running() === mine) WebAuthnAbortService.cancelCeremony();
  };
  signal?.addEventListener('abort', abort, { once: true });
  try {
    return await ceremony();
  } catch (error) {
    throw signal?.aborted ? stoppedBy(signal) : securityKeyErrorFrom(error);
  } finally {
    signal?.removeEventListener('abort', abort);
    // A newer prompt aborts this one; it is not ours to clear then.
    setRunning((current) => (current === mine ? undefined : current));
  }
}

/**
 * navigator.credentials.get with options from a `…/options` endpoint: a signed challenge.
 * Aborting `signal` closes the browser's prompt; the promise then rejects with the signal's
 * reason if it is a SecurityKeyError, else with STOPPED.
 */
export function getAssertion(options: WebAuthnOptionsJSON, signal?: AbortSignal): Promise<WebAuthnResponseJSON> {
  return prompt(
    'assertion',
    options,
    async () => ({
      // The server made these with @simplewebauthn/server's generateAuthenticationOptions.
      ...(await startAuthentication({ optionsJSON: options as unknown as PublicKeyCredentialRequestOptionsJSON })),
    }),
    signal,
  );
}

/** navigator.credentials.create with options from a `…/options` endpoint: a new credential. */
export function createCredential(options: WebAuthnOptionsJSON): Promise<WebAuthnResponseJSON> {
  return prompt('registration', options, async () => ({
    // The server made these with @simplewebauthn/server's generateRegistrationOptions.
    ...(await startRegistration({ optionsJSON: options as unknown as PublicKeyCredentialCreationOptionsJSON })),
  }));
}
