import { useAction } from '@solidjs/router';
import { onMount, Show, type Component } from 'solid-js';
import { resumeEnrollment } from '../../api/enrollment.ts';
import { Alert, ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { settled } from '../../lib/settled.ts';
import { useFreshSubmission } from '../../lib/submissions.ts';
import { useFollowStep } from '../../steps.ts';

export interface ResumeStepProps {
  token: string;
  username: string;
  /** Why the person is asked, when they were sent here from the key step. */
  notice: string | undefined;
  /** Take the focus when shown: true when this step replaced another one. */
  focus: boolean;
  onKeyStep: () => void;
}

/**
 * The password was chosen in an earlier visit but no key was registered. Registering a key
 * needs this browser to know that password, not just the link.
 */
export const ResumeStep: Component<ResumeStepProps> = (props) => {
  const submission = useFreshSubmission(resumeEnrollment);
  const submit = useAction(resumeEnrollment);
  const followStep = useFollowStep();
  let heading!: HTMLHeadingElement;

  onMount(() => {
    if (props.focus) heading.focus();
  });

  async function onSubmit(event: SubmitEvent & { currentTarget: HTMLFormElement }) {
    event.preventDefault();
    if (submission.pending) return;
    const password = String(new FormData(event.currentTarget).get('password') ?? '');
    const step = await settled(submit(props.token, password));
    if (step) await followStep(step, { destination: '/', securityKey: props.onKeyStep });
  }

  return (
    <form class="stack" onSubmit={onSubmit}>
      <h2 ref={heading} tabIndex={-1}>
        Confirm the password you chose
      </h2>
      <p class="muted">
        A password was set for this account earlier, but no security key was registered yet. Enter that password
        to carry on.
      </p>
      <input name="username" autocomplete="username" value={props.username} readOnly hidden />
      <Field label="Password">
        {(control) => (
          <input {...control} name="password" type="password" autocomplete="current-password" required />
        )}
      </Field>
      <Show when={submission.error} fallback={<Show when={props.notice}>{(notice) => <Alert>{notice()}</Alert>}</Show>}>
        <ErrorAlert error={submission.error} />
      </Show>
      {/* aria-disabled, not disabled: a disabled button would drop the keyboard focus to <body>. */}
      <button type="submit" class="primary" aria-disabled={Boolean(submission.pending)}>
        Continue
      </button>
    </form>
  );
};
