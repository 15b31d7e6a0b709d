import { A, createAsync } from '@solidjs/router';
import { createUniqueId, For, Show, type Component } from 'solid-js';
import type { SetupProgress } from '../../../shared/api.ts';
import { fetchOverview } from '../../api/adminOverview.ts';
import { plural } from '../../lib/plural.ts';

/** The first steps, in the order they make sense, each with where it is done. */
const STEPS: ReadonlyArray<{ done: keyof SetupProgress; title: string; how: string; href: string; go: string }> = [
  { done: 'usersCreated', title: 'Create users', how: 'Each gets a one-time link to choose a password and register a key.', href: '/admin/users', go: 'Users' },
  { done: 'realModel', title: 'Add a real model', how: 'The demo models only answer with canned text.', href: '/admin/models', go: 'Models' },
  { done: 'detectorPaired', title: 'Pair a detector', how: 'For keys the browser cannot watch over WebHID.', href: '/account', go: 'Account' },
  { done: 'auditExported', title: 'Export the audit log', how: 'Try the export your SIEM or records will use.', href: '/audit', go: 'Audit log' },
];

/**
 * A new installation's first steps, ticked off from what the server sees (never from clicks
 * here), gone once all are done. Admins only: it reads the overview.
 */
export const SetupChecklist: Component = () => {
  const overview = createAsync(() => fetchOverview());
  const headingId = createUniqueId();
  const left = () => {
    const setup = overview()?.setup;
    return setup ? STEPS.filter((step) => !setup[step.done]).length : 0;
  };

  return (
    <Show when={left() > 0 && overview()?.setup}>
      {(setup) => (
        <section class="panel setup-checklist" aria-labelledby={headingId}>
          <h2 id={headingId}>Set up Argus</h2>
          <p class="muted">
            {plural(left(), 'step')} left. Each ticks itself off once it is done; this list goes away after the last.
          </p>
          <ol>
            <For each={STEPS}>
              {(step) => (
                <li classList={{ done: setup()[step.done] }}>
                  <span class="setup-check" aria-hidden="true">
                    {setup()[step.done] ? '✓' : ''}
                  </span>
                  <span class="setup-step">
                    <strong>{step.title}</strong>
                    <Show when={setup()[step.done]}>
                      <span class="visually-hidden"> (done)</span>
                    </Show>
                    <span class="muted"> {step.how}</span>
                  </span>
                  <Show when={!setup()[step.done]}>
                    <A href={step.href} aria-label={`${step.title}: open ${step.go}`}>
                      Open {step.go}
                    </A>
                  </Show>
                </li>
              )}
            </For>
          </ol>
        </section>
      )}
    </Show>
  );
};
