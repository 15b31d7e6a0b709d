import { Navigate, useAction, useSearchParams, useSubmission } from '@solidjs/router';
import { Show, type Component } from 'solid-js';
import { signIn } from '../api/session.ts';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { Field } from '../components/Field.tsx';
import { PageTitle } from '../components/PageTitle.tsx';
import { settled } from '../lib/settled.ts';
import { useSession } from '../session.tsx';
import { useFollowStep } from '../steps.ts';

/**
 * Where to go after signing in: only a path inside this app. One leading slash, never `//`
 * or `/\` (another host), no whitespace or control characters (browsers drop them, which
 * could make `/\t/host` into `//host`).
 */
function destinationFrom(next: unknown): string {
  const inApp = typeof next === 'string' && /^\/(?![/\\])[^\\\s\x00-\x1f]*$/.test(next);
  return inApp && !next.startsWith('/signin') ? next : '/';
}

export const SignIn: Component = () => {
  const session = useSession();
  const [search] = useSearchParams();
  const submission = useSubmission(signIn);
  const submit = useAction(signIn);
  const followStep = useFollowStep();
  const destination = () => destinationFrom(search.next);
  const busy = () => Boolean(submission.pending) || session.loading();

  async function onSubmit(event: SubmitEvent & { currentTarget: HTMLFormElement }) {
    event.preventDefault();
    const fields = new FormData(event.currentTarget);
    const step = await settled(
      submit({
        username: String(fields.get('username') ?? '').trim(),
        password: String(fields.get('password') ?? ''),
      }),
    );
    if (step) await followStep(step, destination());
  }

  return (
    <Show when={!session.user()} fallback={<Navigate href={destination()} />}>
      <section class="narrow card">
        <PageTitle>Sign in</PageTitle>
        <form class="stack" onSubmit={onSubmit}>
          <Field label="Username">
            {(control) => (
              <input
                {...control}
                name="username"
                autocomplete="username"
                autocapitalize="none"
                spellcheck={false}
                required
              />
            )}
          </Field>
          <Field label="Password">
            {(control) => (
              <input {...control} name="password" type="password" autocomplete="current-password" required />
            )}
          </Field>
          <ErrorAlert error={submission.error} />
          <button type="submit" class="primary" disabled={busy()}>
            {busy() ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </section>
    </Show>
  );
};
