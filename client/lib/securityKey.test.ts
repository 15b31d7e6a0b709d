import { afterEach, assert, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCredential, getAssertion, keyCeremony, SecurityKeyError } from './securityKey.ts';

const requestOptions = { challenge: 'Y2hhbGxlbmdl', rpId: 'localhost', allowCredentials: [] };
const creationOptions = {
  challenge: 'Y2hhbGxlbmdl',
  rp: { id: 'localhost', name: 'Argus' },
  user: { id: 'dXNlcg', name: 'ada', displayName: 'Ada' },
  pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
};

function browserAnswers(answer: () => Promise<unknown>) {
  vi.stubGlobal('PublicKeyCredential', function PublicKeyCredential() {});
  vi.stubGlobal('location', { hostname: 'localhost' });
  vi.stubGlobal('navigator', { credentials: { get: answer, create: answer } });
}

const refusal = (name: string) => () => Promise.reject(new DOMException('refused', name));

/** The SecurityKeyError `pending` fails with; any other outcome fails the test. */
async function failure(pending: Promise<unknown>): Promise<SecurityKeyError> {
  const outcome = await pending.then(
    (value: unknown) => ({ value }),
    (reason: unknown) => reason,
  );
  assert(outcome instanceof SecurityKeyError, `expected a SecurityKeyError, got ${JSON.stringify(outcome)}`);
  return outcome;
}

beforeEach(() => {
  vi.unstubAllGlobals();
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const CANCELLED = 'The security key prompt was closed or timed out. Try again.';

/** What each ceremony makes of the browser's refusals (by DOMException name), in words a person can act on. */
const REFUSALS = [
  { ceremony: 'getAssertion', start: () => getAssertion(requestOptions), name: 'NotAllowedError', code: 'CANCELLED', message: CANCELLED },
  { ceremony: 'createCredential', start: () => createCredential(creationOptions), name: 'NotAllowedError', code: 'CANCELLED', message: CANCELLED },
  {
    ceremony: 'createCredential',
    start: () => createCredential(creationOptions),
    name: 'InvalidStateError',
    code: 'ALREADY_REGISTERED',
    message: 'This key is already registered.',
  },
  {
    ceremony: 'createCredential',
    start: () => createCredential(creationOptions),
    name: 'NotSupportedError',
    code: 'KEY_UNSUITABLE',
    message: 'This security key cannot do what Argus asks (a PIN or fingerprint, for example). Try another key.',
  },
  {
    ceremony: 'createCredential',
    start: () => createCredential(creationOptions),
    name: 'UnknownError',
    code: 'KEY_FAILED',
    message: 'The security key could not complete the request. Try again, or try another key.',
  },
] as const;

describe.each(REFUSALS)('$ceremony', ({ start, name, code, message }) => {
  it(`calls a ${name} refusal ${code}`, async () => {
    browserAnswers(refusal(name));
    const error = await failure(start());
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
    expect(error.cause).toBeInstanceOf(Error);
  });
});

describe('getAssertion', () => {
  it('says the browser cannot use keys before asking it', async () => {
    const get = vi.fn();
    vi.stubGlobal('navigator', { credentials: { get } });
    expect((await failure(getAssertion(requestOptions))).code).toBe('UNSUPPORTED_BROWSER');
    expect(get).not.toHaveBeenCalled();
  });

  it('refuses options without a challenge before asking the browser', async () => {
    const get = vi.fn();
    browserAnswers(get);
    expect((await failure(getAssertion({ rpId: 'localhost' }))).code).toBe('BAD_OPTIONS');
    expect(get).not.toHaveBeenCalled();
  });

  it('says which prompt is open while it is, and nothing after', async () => {
    let release!: () => void;
    browserAnswers(() => new Promise((_, reject) => (release = () => reject(new DOMException('x', 'NotAllowedError')))));
    const pending = getAssertion(requestOptions);
    await vi.waitFor(() => expect(release).toBeTypeOf('function'));
    expect(keyCeremony()).toBe('assertion');
    release();
    await failure(pending);
    expect(keyCeremony()).toBeUndefined();
  });
});
