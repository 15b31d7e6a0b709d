import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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

async function failure(pending: Promise<unknown>): Promise<SecurityKeyError> {
  const error = await pending.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(SecurityKeyError);
  return error as SecurityKeyError;
}

beforeEach(() => {
  vi.unstubAllGlobals();
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('getAssertion', () => {
  it('calls a closed or timed-out prompt cancelled', async () => {
    browserAnswers(refusal('NotAllowedError'));
    const error = await failure(getAssertion(requestOptions));
    expect(error.code).toBe('CANCELLED');
    expect(error.message).toBe('The security key prompt was closed or timed out. Try again.');
    expect(error.cause).toBeInstanceOf(Error);
  });

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

describe('createCredential', () => {
  it('calls a key that already holds a credential here already registered', async () => {
    browserAnswers(refusal('InvalidStateError'));
    const error = await failure(createCredential(creationOptions));
    expect(error.code).toBe('ALREADY_REGISTERED');
    expect(error.message).toBe('This key is already registered.');
  });

  it('calls a closed or timed-out prompt cancelled', async () => {
    browserAnswers(refusal('NotAllowedError'));
    expect((await failure(createCredential(creationOptions))).code).toBe('CANCELLED');
  });

  it('says a key that cannot do what is asked is unsuitable', async () => {
    browserAnswers(refusal('NotSupportedError'));
    expect((await failure(createCredential(creationOptions))).code).toBe('KEY_UNSUITABLE');
  });

  it('keeps unknown failures generic', async () => {
    browserAnswers(refusal('UnknownError'));
    expect((await failure(createCredential(creationOptions))).code).toBe('KEY_FAILED');
  });
});
