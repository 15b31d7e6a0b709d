import { useAction } from '@solidjs/router';
import { onMount, Show, type Component } from 'solid-js';
import type { FirstKeyResponse } from '../../../shared/api.ts';
import { registerFirstKey } from '../../api/companySignIn.ts';
import { ApiError } from '../../api/http.ts';
import { RegisterKeyControls } from '../../components/RegisterKeyControls.tsx';
import { useFreshSubmission } from '../../lib/submissions.ts';

export interface FirstKeyStepProps {
  username: string;
  /** OIDC_FIRST_KEY=approval: the key will wait for an administrator. */
  needsApproval: boolean;
  onAnswer: (answer: FirstKeyResponse) => Promise<void>;
  /** The half-finished sign-in is gone (it lasts a few minutes): start over, saying why. */
  onRestart: (notice: string) => void;
}

/**
 * After a company sign-in, for a user with no security key yet: register the one they will
 * sign in with from now on. The same ceremony as an enrollment's key step.
 */
export const FirstKeyStep: Component<FirstKeyStepProps> = (props) => {
  const submission = useFreshSubmission(registerFirstKey);
  const register = useAction(registerFirstKey);
  const busy = () => Boolean(submission.pending || submission.result);
  let heading!: HTMLHeadingElement;

  onMount(() => heading.focus());

  async function onSubmit(event: SubmitEvent & { currentTarget: HTMLFormElement }) {
    event.preventDefault();
    if (busy()) return;
    const nickname = String(new FormData(event.currentTarget).get('nickname') ?? '').trim();
    try {
      await props.onAnswer(await register(nickname));
    } catch (error) {
      if (error instanceof ApiError && (error.code === 'WRONG_STEP' || error.code === 'SESSION_ENDED')) {
        props.onRestart('Your sign-in took too long and was stopped. Sign in with your company account again.');
      }
      // Anything else shows from the submission.
    }
  }

  return (
    <form class="stack" onSubmit={onSubmit}>
      <h2 ref={heading} tabIndex={-1}>
        Register your security key
      </h2>
      <p>
        Signed in with your company account as <strong>{props.username}</strong>. Argus also needs a security key of
        your own: insert it, select “Register security key”, then touch it.
      </p>
      <Show when={props.needsApproval}>
        <p class="muted">An administrator approves new keys before they can be used.</p>
      </Show>
      <RegisterKeyControls error={submission.error} pending={Boolean(submission.pending)} busy={busy()} />
    </form>
  );
};
