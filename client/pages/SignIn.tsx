import { Navigate, useSearchParams } from '@solidjs/router';
import { createSignal, Match, Show, Switch, type Component } from 'solid-js';
import type { StepResponse } from '../../shared/api.ts';
import { PageTitle } from '../components/PageTitle.tsx';
import { useSession } from '../session.tsx';
import { useFollowStep } from '../steps.ts';
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
  const [search] = useSearchParams();
  const followStep = useFollowStep();
  const [step, setStep] = createSignal<'password' | 'security_key'>('password');
  const [username, setUsername] = createSignal('');
  const [notice, setNotice] = createSignal<string>();
  const destination = () => destinationFrom(search.next);

  const follow = (answer: StepResponse) =>
    followStep(answer, { destination: destination(), securityKey: () => setStep('security_key') });

  function restart(why?: string) {
    setNotice(why);
    setStep('password');
  }

  return (
    <Show when={!session.user()} fallback={<Navigate href={destination()} />}>
      <section class="narrow card">
        <PageTitle>Sign in</PageTitle>
        <Switch>
          <Match when={step() === 'password'}>
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
        </Switch>
      </section>
    </Show>
  );
};
