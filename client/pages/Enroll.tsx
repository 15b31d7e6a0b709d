import { createAsync, revalidate, useAction, useParams, useSubmission, type RouteDefinition } from '@solidjs/router';
import {
  createSignal,
  ErrorBoundary,
  For,
  Match,
  Show,
  Suspense,
  Switch,
  type Component,
} from 'solid-js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, type EnrollmentInfo } from '../../shared/api.ts';
import { getEnrollment, setEnrollmentPassword } from '../api/enrollment.ts';
import { ApiError } from '../api/http.ts';
import { Alert, describeError, ENROLLMENT_INVALID_MESSAGE, LoadFailed } from '../components/ErrorAlert.tsx';
import { Field } from '../components/Field.tsx';
import { Loading } from '../components/Loading.tsx';
import { PageTitle } from '../components/PageTitle.tsx';
import { Time } from '../components/Time.tsx';
import { settled } from '../lib/settled.ts';
import { useFollowStep } from '../steps.ts';

export const route = {
  preload: ({ params }) => getEnrollment(params.token ?? ''),
} satisfies RouteDefinition;

type Step = EnrollmentInfo['remaining'][number];

const STEP_TITLES: Record<Step, string> = { password: 'Password' };

/** Why a chosen password cannot be sent, or undefined when it can. */
function passwordProblem(password: string, confirmation: string): string | undefined {
  // Characters, not UTF-16 units: an emoji is one character to the person typing it.
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  if (password !== confirmation) return 'The passwords do not match.';
  return undefined;
}

const PasswordStep: Component<{ token: string; username: string }> = (props) => {
  const submission = useSubmission(setEnrollmentPassword);
  const submit = useAction(setEnrollmentPassword);
  const followStep = useFollowStep();
  const [problem, setProblem] = createSignal<string>();
  const message = () => problem() ?? (submission.error ? describeError(submission.error) : undefined);

  async function onSubmit(event: SubmitEvent & { currentTarget: HTMLFormElement }) {
    event.preventDefault();
    const fields = new FormData(event.currentTarget);
    const password = String(fields.get('password') ?? '');
    setProblem(passwordProblem(password, String(fields.get('confirm') ?? '')));
    if (problem()) return;
    const step = await settled(submit(props.token, password));
    if (step) await followStep(step, '/');
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
      <button type="submit" class="primary" disabled={submission.pending}>
        Set password
      </button>
    </form>
  );
};

const EnrollmentSteps: Component<{ token: string }> = (props) => {
  const enrollment = createAsync(() => getEnrollment(props.token));

  return (
    <Show when={enrollment()}>
      {(info) => (
        <>
          <h2 class="welcome">Welcome, {info().displayName}</h2>
          <dl class="facts">
            <dt>Username</dt>
            <dd>{info().username}</dd>
            <dt>Link expires</dt>
            <dd>
              <Time value={info().expiresAt} />
            </dd>
          </dl>
          <ol class="steps" aria-label="Steps">
            <For each={info().remaining}>
              {(step, index) => <li aria-current={index() === 0 ? 'step' : undefined}>{STEP_TITLES[step]}</li>}
            </For>
          </ol>
          <Switch>
            <Match when={info().remaining[0] === 'password'}>
              <PasswordStep token={props.token} username={info().username} />
            </Match>
          </Switch>
        </>
      )}
    </Show>
  );
};

const InvalidLink: Component = () => (
  <div class="notice">
    <h2>This link cannot be used</h2>
    <p>{ENROLLMENT_INVALID_MESSAGE}</p>
  </div>
);

export const Enroll: Component = () => {
  const params = useParams<{ token: string }>();

  return (
    <section class="narrow card">
      <PageTitle>Set up your account</PageTitle>
      <ErrorBoundary
        fallback={(error, reset) => (
          <Show
            when={error instanceof ApiError && error.code === 'ENROLLMENT_INVALID'}
            fallback={
              <LoadFailed
                error={error}
                onRetry={() => void revalidate(getEnrollment.keyFor(params.token)).then(reset)}
              />
            }
          >
            <InvalidLink />
          </Show>
        )}
      >
        <Suspense fallback={<Loading />}>
          <EnrollmentSteps token={params.token} />
        </Suspense>
      </ErrorBoundary>
    </section>
  );
};
