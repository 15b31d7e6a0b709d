import { A } from '@solidjs/router';
import { createSignal, createUniqueId, onMount, Show, type Component } from 'solid-js';
import type { EnrollmentLink, PendingChangeView, PendingEnrollmentLinkResponse } from '../../shared/api.ts';
import { Time } from './Time.tsx';

/**
 * An enrollment link, shown to the admin who made it and never again: the server keeps only
 * its hash. With `waitsFor`, the link works only once a second admin approves that pending
 * change (the two-person rule), and then for `validHoursAfterApproval` hours.
 */
export const OneTimeLink: Component<{
  username: string;
  link: EnrollmentLink | PendingEnrollmentLinkResponse['enrollment'];
  waitsFor?: PendingChangeView | undefined;
  onDismiss: () => void;
}> = (props) => {
  let heading!: HTMLHeadingElement;
  let url!: HTMLElement;
  const headingId = createUniqueId();
  const [copyState, setCopyState] = createSignal('');

  // Draw the eye (and the screen reader) to the link as soon as it exists.
  onMount(() => heading.focus());

  async function copy() {
    try {
      await navigator.clipboard.writeText(props.link.url);
      setCopyState('Copied to the clipboard.');
    } catch {
      getSelection()?.selectAllChildren(url);
      setCopyState('Could not copy: the link is selected, copy it with your keyboard.');
    }
  }

  return (
    <section class="panel one-time" aria-labelledby={headingId}>
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        Enrollment link for @{props.username}
      </h2>
      <p class="warning">Shown once — copy it now</p>
      <div class="link-box">
        <code ref={url} data-testid="enrollment-link">
          {props.link.url}
        </code>
        <button type="button" onClick={copy}>
          Copy
        </button>
      </div>
      <Show
        when={props.waitsFor}
        fallback={
          <Show when={'expiresAt' in props.link && props.link.expiresAt}>
            {(expiresAt) => (
              <p class="muted">
                Expires <Time value={expiresAt()} />
              </p>
            )}
          </Show>
        }
      >
        {(change) => (
          <div class="pending-notice" role="status">
            <p>
              <strong>Waiting for a second admin.</strong> This link works only once another admin approves it under{' '}
              <A href="/admin/approvals">Approvals</A>, before <Time value={change().expiresAt} />
              {'validHoursAfterApproval' in props.link ? `, and then for ${props.link.validHoursAfterApproval} hours` : ''}. Keep it until then.
            </p>
          </div>
        )}
      </Show>
      <p class="muted" role="status">
        {copyState()}
      </p>
      <button type="button" class="quiet" onClick={() => props.onDismiss()}>
        Done
      </button>
    </section>
  );
};
