import { useAction } from '@solidjs/router';
import { createSignal, onMount, type Component } from 'solid-js';
import type { ErrorCode } from '../../../shared/errors.ts';
import type { StepResponse } from '../../../shared/api.ts';
import { ApiError } from '../../api/http.ts';
import { signInWithKey } from '../../api/session.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useFreshSubmission } from '../../lib/submissions.ts';
import { useSession } from '../../session.tsx';

/** Answers meaning the half-finished sign-in is gone (it lasts 5 minutes): start over. */
const SIGN_IN_GONE: readonly ErrorCode[] = ['WRONG_STEP', 'UNAUTHENTICATED', 'SESSION_ENDED'];

const SIGN_IN_GONE_NOTICE = 'Your sign-in took too long and was stopped. Enter your password again.';
const CANCEL_FAILED_NOTICE =
  'Argus could not be reached to cancel. The unfinished sign-in ends on its own within 5 minutes.';

export interface KeyStepProps {
  username: string;
  onAnswer: (step: StepResponse) => Promise<void>;
  /** Back to the password step, saying why when the person did not ask for it. */
  onRestart: (notice?: string) => void;
}

/**
 * Step 2 of sign-in: a touch of one of the user's registered keys. The prompt opens from the
 * button, never on its own: some browsers allow it only right after a click.
 */
export const KeyStep: Component<KeyStepProps> = (props) => {
  const session = useSession();
  const submission = useFreshSubmission(signInWithKey);
  const verify = useAction(signInWithKey);
  const [leaving, setLeaving] = createSignal(false);
  // Done means the page is on its way to the destination; a second touch would only fail.
  const busy = () => Boolean(submission.pending || submission.result) || leaving();
  let heading!: HTMLHeadingElement;

  // The password form this replaced held the focus; start screen readers on the new step.
  onMount(() => heading.focus());

  async function useKey() {
    if (busy()) return;
    try {
      await props.onAnswer(await verify());
    } catch (error) {
      if (error instanceof ApiError && SIGN_IN_GONE.includes(error.code)) props.onRestart(SIGN_IN_GONE_NOTICE);
      // Anything else shows from the submission, with "Try again".
    }
  }

  async function cancel() {
    if (leaving()) return;
    setLeaving(true);
    // End the half-signed-in session on the server too, not only on this page.
    const ended = await session.signOut().then(
      () => true,
      () => false,
    );
    props.onRestart(ended ? undefined : CANCEL_FAILED_NOTICE);
  }

  return (
    <div class="stack">
      <h2 ref={heading} tabIndex={-1}>
        Touch your security key
      </h2>
      <p>
        Signing in as <strong>{props.username}</strong>. Insert the security key you registered with Argus, select
        “Use security key”, then touch the key when it blinks.
      </p>
      <ErrorAlert error={submission.error} />
      <p class="key-prompt" role="status">
        {submission.pending ? 'Waiting for your key…' : ''}
      </p>
      <button type="button" class="primary" aria-disabled={busy()} onClick={useKey}>
        {submission.error ? 'Try again' : 'Use security key'}
      </button>
      <button type="button" class="link cancel" onClick={cancel}>
        Cancel
      </button>
    </div>
  );
};
