import { createSignal, createUniqueId, onMount, type Component } from 'solid-js';
import type { EnrollmentLink } from '../../shared/api.ts';
import { Time } from './Time.tsx';

/**
 * An enrollment link, shown to the admin who made it and never again: the server keeps only
 * its hash.
 */
export const OneTimeLink: Component<{ username: string; link: EnrollmentLink; onDismiss: () => void }> = (
  props,
) => {
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
      <p class="muted">
        Expires <Time value={props.link.expiresAt} />
      </p>
      <p class="muted" role="status">
        {copyState()}
      </p>
      <button type="button" class="quiet" onClick={() => props.onDismiss()}>
        Done
      </button>
    </section>
  );
};
