import { createAsync, revalidate, useParams, type RouteDefinition } from '@solidjs/router';
import { createSignal, ErrorBoundary, Match, Show, Suspense, Switch, type Component } from 'solid-js';
import type { EnrollmentInfo, EnrollmentStep } from '../../shared/api.ts';
import { getEnrollment } from '../api/enrollment.ts';
import { ApiError } from '../api/http.ts';
import { ENROLLMENT_INVALID_MESSAGE, LoadFailed } from '../components/ErrorAlert.tsx';
import { Loading } from '../components/Loading.tsx';
import { PageTitle } from '../components/PageTitle.tsx';
import { Time } from '../components/Time.tsx';
import { KeyStep } from './enroll/KeyStep.tsx';
import { PasswordStep } from './enroll/PasswordStep.tsx';
import { ResumeStep } from './enroll/ResumeStep.tsx';
import { StepList } from './enroll/StepList.tsx';

export const route = {
  preload: ({ params }) => getEnrollment(params.token ?? ''),
} satisfies RouteDefinition;

/** What the page shows: an enrollment step, or the password check that resumes step 2. */
type Stage = 'password' | 'resume' | 'security_key';

const STAGE_STEPS: Record<Stage, EnrollmentStep> = {
  password: 'password',
  resume: 'security_key',
  security_key: 'security_key',
};

const PASSWORD_NEEDED_NOTICE = 'Before registering a key in this browser, enter the password you chose.';

function firstStage(info: EnrollmentInfo): Stage | undefined {
  switch (info.remaining[0]) {
    case 'password':
      return 'password';
    // The password was chosen in an earlier visit: this browser proves it knows it first.
    case 'security_key':
      return info.resumable ? 'resume' : 'security_key';
    default:
      return undefined;
  }
}

const InvalidLink: Component = () => (
  <div class="notice">
    <h2>This link cannot be used</h2>
    <p>{ENROLLMENT_INVALID_MESSAGE}</p>
  </div>
);

/** The steps of one link. The page follows the server's step answers, not a re-read of the link. */
const EnrollmentFlow: Component<{ token: string; info: EnrollmentInfo }> = (props) => {
  const [moved, setMoved] = createSignal<{ stage: Stage; notice?: string }>();
  const stage = () => moved()?.stage ?? firstStage(props.info);
  const toKeyStep = () => setMoved({ stage: 'security_key' });

  return (
    <>
      <h2 class="welcome">Welcome, {props.info.displayName}</h2>
      <dl class="facts">
        <dt>Username</dt>
        <dd>{props.info.username}</dd>
        <dt>Link expires</dt>
        <dd>
          <Time value={props.info.expiresAt} />
        </dd>
      </dl>
      <Show when={stage()}>{(current) => <StepList current={STAGE_STEPS[current()]} />}</Show>
      <Switch fallback={<InvalidLink />}>
        <Match when={stage() === 'password'}>
          <PasswordStep token={props.token} username={props.info.username} onKeyStep={toKeyStep} />
        </Match>
        <Match when={stage() === 'resume'}>
          <ResumeStep
            token={props.token}
            username={props.info.username}
            notice={moved()?.notice}
            focus={moved() !== undefined}
            onKeyStep={toKeyStep}
          />
        </Match>
        <Match when={stage() === 'security_key'}>
          <KeyStep
            token={props.token}
            focus={moved() !== undefined}
            onPasswordNeeded={() => setMoved({ stage: 'resume', notice: PASSWORD_NEEDED_NOTICE })}
          />
        </Match>
      </Switch>
    </>
  );
};

const EnrollmentSteps: Component<{ token: string }> = (props) => {
  const enrollment = createAsync(() => getEnrollment(props.token));
  return <Show when={enrollment()}>{(info) => <EnrollmentFlow token={props.token} info={info()} />}</Show>;
};

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
