import { useAction } from '@solidjs/router';
import type { Component } from 'solid-js';
import { registerEnrollmentKey } from '../../api/enrollment.ts';
import { ApiError } from '../../api/http.ts';
import { RegisterKeyControls } from '../../components/RegisterKeyControls.tsx';
import { useFreshSubmission } from '../../lib/submissions.ts';
import { useFollowStep } from '../../steps.ts';
import { StepHeading, type EnrollmentStepProps } from './StepHeading.tsx';

export interface KeyStepProps extends EnrollmentStepProps {
  /** This browser has not done the password step (WRONG_STEP): it must confirm the password. */
  onPasswordNeeded: () => void;
}

/** Enrollment step 2: register the security key the person will sign in with. */
export const KeyStep: Component<KeyStepProps> = (props) => {
  const submission = useFreshSubmission(registerEnrollmentKey);
  const register = useAction(registerEnrollmentKey);
  const followStep = useFollowStep();
  // Done means the page is on its way home; a second touch would only fail.
  const busy = () => Boolean(submission.pending || submission.result);

  async function onSubmit(event: SubmitEvent & { currentTarget: HTMLFormElement }) {
    event.preventDefault();
    if (busy()) return;
    const nickname = String(new FormData(event.currentTarget).get('nickname') ?? '').trim();
    try {
      const step = await register(props.token, nickname);
      // A key step that asked for another key step would loop; stay and show nothing new.
      await followStep(step, { destination: '/', securityKey: () => {} });
    } catch (error) {
      if (error instanceof ApiError && error.code === 'WRONG_STEP') props.onPasswordNeeded();
      // Anything else shows from the submission.
    }
  }

  return (
    <form class="stack" onSubmit={onSubmit}>
      <StepHeading focus={props.focus}>Register your security key</StepHeading>
      <p>
        Insert the security key you will sign in with. When you select “Register security key”, your browser asks
        you to touch it.
      </p>
      <p class="muted">
        Use a hardware key: a passkey synced by a phone or password manager can sign you in but never unlocks the
        restricted models.
      </p>
      <RegisterKeyControls error={submission.error} pending={Boolean(submission.pending)} busy={busy()} />
    </form>
  );
};
