import { For, type Component } from 'solid-js';
import { createFilterApplier } from '../../lib/filterApplier.ts';
import { ROLES, USER_STATUSES, type UserStatus } from '../../../shared/api.ts';
import { ROLE_LABELS } from '../../access.ts';
import type { UserFilters } from '../../api/admin.ts';
import { Field } from '../../components/Field.tsx';

const SEARCH_DELAY_MS = 300;

const STATUS_LABELS: Record<UserStatus, string> = { active: 'Active', disabled: 'Disabled' };

function filtersFrom(form: HTMLFormElement): UserFilters {
  const fields = new FormData(form);
  return {
    q: String(fields.get('q') ?? '').trim(),
    role: ROLES.find((role) => role === fields.get('role')) ?? '',
    status: USER_STATUSES.find((status) => status === fields.get('status')) ?? '',
  };
}

/** Search as you type (after a pause), or at once on Enter or a changed filter. */
export const UserFilterBar: Component<{ initialQuery?: string; onChange: (filters: UserFilters) => void }> = (props) => {
  let form!: HTMLFormElement;
  const { now: apply, soon: applySoon } = createFilterApplier(() => props.onChange(filtersFrom(form)), SEARCH_DELAY_MS);

  return (
    <form
      ref={form}
      role="search"
      aria-label="Filter users"
      class="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        apply();
      }}
    >
      <Field label="Search" class="grow">
        {(control) => (
          <input {...control} name="q" type="search" value={props.initialQuery ?? ''} autocomplete="off" spellcheck={false} onInput={applySoon} />
        )}
      </Field>
      <Field label="Filter by role">
        {(control) => (
          <select {...control} name="role" onChange={apply}>
            <option value="">All roles</option>
            <For each={ROLES}>{(role) => <option value={role}>{ROLE_LABELS[role]}</option>}</For>
          </select>
        )}
      </Field>
      <Field label="Filter by status">
        {(control) => (
          <select {...control} name="status" onChange={apply}>
            <option value="">Any status</option>
            <For each={USER_STATUSES}>{(status) => <option value={status}>{STATUS_LABELS[status]}</option>}</For>
          </select>
        )}
      </Field>
    </form>
  );
};
