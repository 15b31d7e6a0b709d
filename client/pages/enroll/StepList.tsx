import { For, Show, type Component } from 'solid-js';
import type { EnrollmentStep } from '../../../shared/api.ts';

const STEPS: readonly EnrollmentStep[] = ['password', 'security_key'];

const STEP_TITLES: Record<EnrollmentStep, string> = { password: 'Password', security_key: 'Security key' };

/** Every enrollment step, numbered (see `.steps` in client/styles/pages.css): done, current, or still to come. */
export const StepList: Component<{ current: EnrollmentStep }> = (props) => (
  <ol class="steps" aria-label="Steps">
    <For each={STEPS}>
      {(step, index) => {
        const done = () => index() < STEPS.indexOf(props.current);
        return (
          <li classList={{ done: done() }} aria-current={step === props.current ? 'step' : undefined}>
            {STEP_TITLES[step]}
            <Show when={done()}>
              <span class="visually-hidden"> (done)</span>
            </Show>
          </li>
        );
      }}
    </For>
  </ol>
);
