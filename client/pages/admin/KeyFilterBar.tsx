import type { Component } from 'solid-js';
import { KEY_STATUSES, type KeyStatus } from '../../../shared/api.ts';
import type { KeyFilters } from '../../api/adminKeys.ts';
import { Field, Select } from '../../components/Field.tsx';
import { FilterBar } from '../../components/FilterBar.tsx';

const OWNER_DELAY_MS = 400;

export const KEY_STATUS_LABELS: Record<KeyStatus, string> = {
  active: 'Active',
  deactivated: 'Deactivated',
  suspended: 'Suspended (clone detection)',
  pending_approval: 'Awaiting approval',
};

function filtersFrom(fields: FormData): KeyFilters {
  return {
    owner: String(fields.get('owner') ?? '').trim(),
    status: KEY_STATUSES.find((status) => status === fields.get('status')) ?? '',
  };
}

/** Narrow the key table to one owner (their exact username) or one status. */
export const KeyFilterBar: Component<{ initial: KeyFilters; onChange: (filters: KeyFilters) => void }> = (props) => (
  <FilterBar label="Filter security keys" delayMs={OWNER_DELAY_MS} onApply={(fields) => props.onChange(filtersFrom(fields))}>
    {(apply) => (
      <>
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
              onInput={apply.soon}
            />
          )}
        </Field>
        <Field label="Filter by key status">
          {(control) => (
            <Select
              control={control}
              name="status"
              any="Any status"
              values={KEY_STATUSES}
              labels={KEY_STATUS_LABELS}
              selected={props.initial.status}
              onChange={apply.now}
            />
          )}
        </Field>
      </>
    )}
  </FilterBar>
);
