import { useAction, useSubmission } from '@solidjs/router';
import { createSignal, createUniqueId, type Component } from 'solid-js';
import { addMyKey } from '../../api/account.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { isStoppedByUser, keyCeremony } from '../../lib/securityKey.ts';
import { settled } from '../../lib/settled.ts';

/**
 * Adding a key takes two touches: a key already registered (the step-up, skipped while a
 * recent one is on record; the step-up dialog asks for it), then the new key. The prompt
 * says which touch is which.
 */
export const AddKeyForm: Component = () => {
  const submission = useSubmission(addMyKey);
  const add = useAction(addMyKey);
  const [added, setAdded] = createSignal<string>();
  const headingId = createUniqueId();

  const prompt = () => {
    if (!submission.pending) return added() ? `Added “${added()}”.` : '';
    switch (keyCeremony()) {
      case 'assertion':
        return 'Confirming it is you…';
      case 'registration':
        return 'Now touch the new key';
      default:
        return 'One moment…';
    }
  };

  async function onSubmit(event: SubmitEvent & { currentTarget: HTMLFormElement }) {
    event.preventDefault();
    if (submission.pending) return;
    const form = event.currentTarget;
    setAdded(undefined);
    const result = await settled(add(String(new FormData(form).get('nickname') ?? '').trim()));
    if (!result) return;
    form.reset();
    setAdded(result.key.nickname);
  }

  return (
    <section class="add-key" aria-labelledby={headingId}>
      <h3 id={headingId}>Add a security key</h3>
      <p class="muted">
        Keep a spare key registered in case you lose one. Adding a key takes two touches: first a key you already
        registered, to confirm it is you, then the new key.
      </p>
      <form class="inline-form" aria-labelledby={headingId} onSubmit={onSubmit}>
        <Field label="Key nickname" hint="Optional">
          {(control) => <input {...control} name="nickname" placeholder="Blue YubiKey" autocomplete="off" />}
        </Field>
        <button type="submit" class="primary" aria-disabled={Boolean(submission.pending)}>
          Add security key
        </button>
      </form>
      <p class="key-prompt" role="status">
        {prompt()}
      </p>
      {/* Cancelled in the step-up dialog: the form stays as it was, nothing to alert. */}
      <ErrorAlert error={isStoppedByUser(submission.error) ? undefined : submission.error} />
    </section>
  );
};
