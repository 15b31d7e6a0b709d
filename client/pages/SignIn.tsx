import { createAsync, Navigate, useSearchParams } from '@solidjs/router';
import { createSignal, Match, onMount, Show, Switch, type Component } from 'solid-js';
import type { FirstKeyResponse, StepResponse } from '../../shared/api.ts';
import { fetchCompanySignInStep } from '../api/companySignIn.ts';
import { getSignInMethods } from '../api/session.ts';
import { Alert } from '../components/ErrorAlert.tsx';
import { PageTitle } from '../components/PageTitle.tsx';
import { useSession } from '../session.tsx';
import { useFollowStep } from '../steps.ts';
import { CompanySignInOption } from './signin/CompanySignInButton.tsx';
import { companySignInError } from './signin/companySignInErrors.ts';
import { FirstKeyStep } from './signin/FirstKeyStep.tsx';
import { KeyStep } from './signin/KeyStep.tsx';
import { PasswordStep } from './signin/PasswordStep.tsx';

/**
 * Where to go after signing in: only a path inside this app. One leading slash, never `//`
 * or `/\` (another host), no whitespace or control characters (browsers drop them, which
 * could make `/\t/host` into `//host`).
 */
function destinationFrom(next: unknown): string {
  const inApp = typeof next === 'string' && /^\/(?![/\\])[^\\\s\x00-\x1f]*$/.test(next);
  return inApp && !next.startsWith('/signin') ? next : '/';
}

/** Sign-in: password, then a security key, on one page without a reload. */
export const SignIn: Component = () => {
  const session = useSession();
  const [search, setSearch] = useSearchParams();
  const followStep = useFollowStep();
  // register_key and awaiting_approval: after a company sign-in, for a user with no key yet.
  const [step, setStep] = createSignal<'password' | 'security_key' | 'register_key' | 'awaiting_approval'>('password');
  const [firstKeyNeedsApproval, setFirstKeyNeedsApproval] = createSignal(false);
  const [username, setUsername] = createSignal('');
  const [notice, setNotice] = createSignal<string>();
  const destination = () => destinationFrom(search.next);
  const methods = createAsync(() => getSignInMethods());
  // PASSWORD_SIGNIN=false hides the form; break-glass admins open it with ?method=password.
  const passwordOffered = () => methods()?.password === true || search.method === 'password';

  const follow = (answer: StepResponse) =>
    followStep(answer, { destination: destination(), securityKey: () => setStep('security_key') });

  function restart(why?: string) {
    setNotice(why);
    setStep('password');
  }

  // Back from the company's provider (server/routes/oidc.ts): an error code to say in words,
  // or a sign-in waiting for the key step (or a first key) in this browser's session.
  onMount(() => {
    const error = typeof search.oidc_error === 'string' ? search.oidc_error : undefined;
    const resumed = search.oidc === 'continue';
    if (!error && !resumed) return;
    setSearch({ oidc: undefined, oidc_error: undefined }, { replace: true });
    if (error) return setNotice(companySignInError(error));
    fetchCompanySignInStep().then(
      (pending) => {
        if (pending.step === 'none') return setNotice(companySignInError('OIDC_STATE_INVALID'));
        setUsername(pending.username);
        setFirstKeyNeedsApproval(pending.firstKeyNeedsApproval);
        setStep(pending.step);
      },
      () => setNotice(companySignInError('SERVICE_UNAVAILABLE')),
    );
  });

  const followFirstKey = (answer: FirstKeyResponse) =>
    answer.next === 'done' ? follow(answer) : Promise.resolve(void setStep('awaiting_approval'));

  return (
    <Show when={!session.user()} fallback={<Navigate href={destination()} />}>
      <section class="narrow card">
        <PageTitle>Sign in</PageTitle>
        <Show when={step() === 'password' && methods()?.company}>
          {(company) => (
            <CompanySignInOption
              displayName={company().displayName}
              next={destination()}
              notice={passwordOffered() ? undefined : notice()}
              divider={passwordOffered()}
            />
          )}
        </Show>
        <Switch>
          <Match when={step() === 'password' && methods() && !passwordOffered() && !methods()?.company}>
            <p class="muted">Password sign-in is turned off on this server.</p>
          </Match>
          <Match when={step() === 'password' && passwordOffered()}>
            <PasswordStep
              username={username()}
              notice={notice()}
              busy={session.loading()}
              onAnswer={(answer, name) => {
                setUsername(name);
                setNotice(undefined);
                return follow(answer);
              }}
            />
          </Match>
          <Match when={step() === 'security_key'}>
            <KeyStep username={username()} onAnswer={follow} onRestart={restart} />
          </Match>
          <Match when={step() === 'register_key'}>
            <FirstKeyStep username={username()} needsApproval={firstKeyNeedsApproval()} onAnswer={followFirstKey} onRestart={restart} />
          </Match>
          <Match when={step() === 'awaiting_approval'}>
            <div class="stack" role="status">
              <h2>Your key is registered</h2>
              <Alert>An administrator must approve it before you can use it. Sign in again once they have.</Alert>
            </div>
          </Match>
        </Switch>
      </section>
    </Show>
  );
};
