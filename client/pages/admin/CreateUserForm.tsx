import { useAction, useSubmission } from '@solidjs/router';
import { createUniqueId, For, type Component } from 'solid-js';
import { ROLES, type PendingChangeView } from '../../../shared/api.ts';
import { ROLE_LABELS } from '../../access.ts';
import { createUser } from '../../api/admin.ts';
import { isStoppedByUser } from '../../lib/securityKey.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { settled } from '../../lib/settled.ts';
import type { IssuedLink } from './types.ts';

/** `onHeld`: an admin asked for while the two-person rule holds is made a user whose promotion waits. */
export const CreateUserForm: Component<{ onCreated: (issued: IssuedLink) => void; onHeld: (change: PendingChangeView) => void }> = (props) => {
  const submission = useSubmission(createUser);
  const create = useAction(createUser);
  const headingId = createUniqueId();

  async function onSubmit(event: SubmitEvent & { currentTarget: HTMLFormElement }) {
    event.preventDefault();
    if (submission.pending) return;
    const form = event.currentTarget;
    const fields = new FormData(form);
    const created = await settled(
      create({
        username: String(fields.get('username') ?? '').trim(),
        displayName: String(fields.get('displayName') ?? '').trim() || undefined,
        // The select offers only ROLES; anything else falls back to the least privilege.
        role: ROLES.find((role) => role === fields.get('role')) ?? 'user',
      }),
    );
    if (!created) return;
    form.reset();
    props.onCreated({ username: created.user.username, link: created.enrollment });
    if (created.pendingChange) props.onHeld(created.pendingChange);
  }

  return (
    <section class="panel" aria-labelledby={headingId}>
      <h2 id={headingId}>Create user</h2>
      <form class="inline-form" aria-labelledby={headingId} onSubmit={onSubmit}>
        <Field label="Username">
          {(control) => (
            <input {...control} name="username" required autocomplete="off" autocapitalize="none" spellcheck={false} />
          )}
        </Field>
        <Field label="Display name" hint="Optional">
          {(control) => <input {...control} name="displayName" autocomplete="off" />}
        </Field>
        <Field label="Role">
          {(control) => (
            <select {...control} name="role">
              <For each={ROLES}>{(role) => <option value={role}>{ROLE_LABELS[role]}</option>}</For>
            </select>
          )}
        </Field>
        {/* aria-disabled, not disabled: a disabled button would drop the keyboard focus to <body>. */}
        <button type="submit" class="primary" aria-disabled={Boolean(submission.pending)}>
          Create user
        </button>
      </form>
      {/* A cancelled key touch leaves the form as it was: nothing to report. */}
      <ErrorAlert error={isStoppedByUser(submission.error) ? undefined : submission.error} />
    </section>
  );
};
