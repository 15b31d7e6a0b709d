import { useAction, useSubmission } from '@solidjs/router';
import { createSignal, Show, type Component } from 'solid-js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../../shared/api.ts';
import { setEnrollmentPassword } from '../../api/enrollment.ts';
import { Alert, describeError } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { settled } from '../../lib/settled.ts';
import { useFollowStep } from '../../steps.ts';

/** Why a chosen password cannot be sent, or undefined when it can. */
function passwordProblem(password: string, confirmation: string): string | undefined {
  // Characters, not UTF-16 units: an emoji is one character to the person typing it.
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  if (password !== confirmation) return 'The passwords do not match.';
  return undefined;
}

export interface PasswordStepProps {
  token: string;
  username: string;
  onKeyStep: () => void;
}

/** Enrollment step 1: choose a password. */
export const PasswordStep: Component<PasswordStepProps> = (props) => {
  const submission = useSubmission(setEnrollmentPassword);
  const submit = useAction(setEnrollmentPassword);
  const followStep = useFollowStep();
  const [problem, setProblem] = createSignal<string>();
  const message = () => problem() ?? (submission.error ? describeError(submission.error) : undefined);

  async function onSubmit(event: SubmitEvent & { currentTarget: HTMLFormElement }) {
    event.preventDefault();
    if (submission.pending) return;
    const fields = new FormData(event.currentTarget);
    const password = String(fields.get('password') ?? '');
    setProblem(passwordProblem(password, String(fields.get('confirm') ?? '')));
    if (problem()) return;
    const step = await settled(submit(props.token, password));
    if (step) await followStep(step, { destination: '/', securityKey: props.onKeyStep });
  }

  return (
    <form class="stack" onSubmit={onSubmit} noValidate>
      <h2>Choose a password</h2>
      {/* Lets password managers save the new password under the right name. */}
      <input name="username" autocomplete="username" value={props.username} readOnly hidden />
      <Field label="Password" hint={`At least ${PASSWORD_MIN_LENGTH} characters, and not a common password.`}>
        {(control) => <input {...control} name="password" type="password" autocomplete="new-password" required />}
      </Field>
      <Field label="Confirm password">
        {(control) => <input {...control} name="confirm" type="password" autocomplete="new-password" required />}
      </Field>
      <Show when={message()}>{(text) => <Alert>{text()}</Alert>}</Show>
      {/* aria-disabled, not disabled: a disabled button would drop the keyboard focus to <body>. */}
      <button type="submit" class="primary" aria-disabled={Boolean(submission.pending)}>
        Set password
      </button>
    </form>
  );
};
