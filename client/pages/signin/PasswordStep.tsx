import { useAction } from '@solidjs/router';
import { onMount, Show, type Component } from 'solid-js';
import type { StepResponse } from '../../../shared/api.ts';
import { signIn } from '../../api/session.ts';
import { Alert, ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { settled } from '../../lib/settled.ts';
import { useFreshSubmission } from '../../lib/submissions.ts';

export interface PasswordStepProps {
  /** Filled in when coming back from the key step. */
  username: string;
  /** Why the person is back at this step, if they did not choose to be. */
  notice: string | undefined;
  /** True while the session is being read again. */
  busy: boolean;
  onAnswer: (step: StepResponse, username: string) => Promise<void>;
}

/** Step 1 of sign-in: username and password. */
export const PasswordStep: Component<PasswordStepProps> = (props) => {
  const submission = useFreshSubmission(signIn);
  const submit = useAction(signIn);
  const busy = () => Boolean(submission.pending) || props.busy;
  let password!: HTMLInputElement;

  // Back from the key step: the username is known, the password is what is missing.
  onMount(() => {
    if (props.username) password.focus();
  });

  async function onSubmit(event: SubmitEvent & { currentTarget: HTMLFormElement }) {
    event.preventDefault();
    if (busy()) return;
    const fields = new FormData(event.currentTarget);
    const username = String(fields.get('username') ?? '').trim();
    const step = await settled(submit({ username, password: String(fields.get('password') ?? '') }));
    if (step) await props.onAnswer(step, username);
  }

  return (
    <form class="stack" onSubmit={onSubmit}>
      <Field label="Username">
        {(control) => (
          <input
            {...control}
            name="username"
            autocomplete="username"
            autocapitalize="none"
            spellcheck={false}
            value={props.username}
            required
          />
        )}
      </Field>
      <Field label="Password">
        {(control) => (
          <input
            {...control}
            ref={password}
            name="password"
            type="password"
            autocomplete="current-password"
            required
          />
        )}
      </Field>
      <Show when={submission.error} fallback={<Show when={props.notice}>{(notice) => <Alert>{notice()}</Alert>}</Show>}>
        <ErrorAlert error={submission.error} />
      </Show>
      {/* aria-disabled, not disabled: a disabled button would drop the keyboard focus to <body>. */}
      <button type="submit" class="primary" aria-disabled={busy()}>
        {busy() ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
};
