import { For, type Component } from 'solid-js';
import { createFilterApplier } from '../../lib/filterApplier.ts';
import { KEY_STATUSES, type KeyStatus } from '../../../shared/api.ts';
import type { KeyFilters } from '../../api/adminKeys.ts';
import { Field } from '../../components/Field.tsx';

const OWNER_DELAY_MS = 400;

export const KEY_STATUS_LABELS: Record<KeyStatus, string> = {
  active: 'Active',
  deactivated: 'Deactivated',
  suspended: 'Suspended (clone detection)',
};

function filtersFrom(form: HTMLFormElement): KeyFilters {
  const fields = new FormData(form);
  return {
    owner: String(fields.get('owner') ?? '').trim(),
    status: KEY_STATUSES.find((status) => status === fields.get('status')) ?? '',
  };
}

/** Narrow the key table to one owner (their exact username) or one status. */
export const KeyFilterBar: Component<{ initial: KeyFilters; onChange: (filters: KeyFilters) => void }> = (props) => {
  let form!: HTMLFormElement;
  const { now: apply, soon: applySoon } = createFilterApplier(() => props.onChange(filtersFrom(form)), OWNER_DELAY_MS);

  return (
    <form
      ref={form}
      role="search"
      aria-label="Filter security keys"
      class="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        apply();
      }}
    >
      <Field label="Owner" hint="Their exact username" class="grow">
        {(control) => (
          <input
            {...control}
            name="owner"
            value={props.initial.owner}
            type="search"
            autocomplete="off"
            autocapitalize="none"
            spellcheck={false}
            onInput={applySoon}
          />
        )}
      </Field>
      <Field label="Filter by key status">
        {(control) => (
          <select {...control} name="status" onChange={apply}>
            <option value="">Any status</option>
            <For each={KEY_STATUSES}>
              {(status) => (
                <option value={status} selected={status === props.initial.status}>
                  {KEY_STATUS_LABELS[status]}
                </option>
              )}
            </For>
          </select>
        )}
      </Field>
    </form>
  );
};
