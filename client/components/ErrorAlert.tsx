import { For, Show, type Component, type JSX } from 'solid-js';
import { ApiError } from '../api/http.ts';
import { secondsText } from '../lib/countdown.ts';
import { SecurityKeyError } from '../lib/securityKey.ts';

export const ENROLLMENT_INVALID_MESSAGE =
  'This enrollment link is invalid, expired or already used. Ask an administrator for a new one.';

export const GRANT_REQUIRED_MESSAGE = 'Unlock restricted models to use this model.';

/** What to tell a person about a failure: the server's message, or ours where we know better. */
export function describeError(error: unknown): string {
  if (error instanceof SecurityKeyError) return error.message;
  if (!(error instanceof ApiError)) return 'Something went wrong. Try again.';
  switch (error.code) {
    case 'RATE_LIMITED':
      return error.retryAfter
        ? `Too many attempts, try again in ${secondsText(error.retryAfter)}.`
        : 'Too many attempts, try again later.';
    case 'LAST_ADMIN':
      return 'You cannot disable or demote the last active admin.';
    case 'ENROLLMENT_INVALID':
      return ENROLLMENT_INVALID_MESSAGE;
    case 'NO_ACTIVE_KEY':
      return 'Your account has no active security key. Ask an administrator for a new enrollment link.';
    case 'KEY_MISMATCH':
      return 'This key belongs to another account.';
    case 'LAST_KEY':
      return 'You cannot remove your last active key.';
    case 'GRANT_REQUIRED':
      return GRANT_REQUIRED_MESSAGE;
    default:
      return error.message;
  }
}

export const Alert: Component<{ children: JSX.Element }> = (props) => (
  <div class="alert" role="alert">
    {props.children}
  </div>
);

/** Shows a failure, with the fields the server rejected; renders nothing without one. */
export const ErrorAlert: Component<{ error: unknown }> = (props) => {
  const issues = () => (props.error instanceof ApiError ? props.error.issues : []);
  return (
    <Show when={props.error}>
      <Alert>
        <p>{describeError(props.error)}</p>
        <Show when={issues().length > 0}>
          <ul>
            <For each={issues()}>
              {(issue) => (
                <li>
                  {issue.path}: {issue.message}
                </li>
              )}
            </For>
          </ul>
        </Show>
      </Alert>
    </Show>
  );
};

/** A failed load, with a way to try again. */
export const LoadFailed: Component<{ error: unknown; onRetry: () => void }> = (props) => (
  <div class="load-failed">
    <ErrorAlert error={props.error} />
    <button type="button" onClick={() => props.onRetry()}>
      Try again
    </button>
  </div>
);
