import type { Component } from 'solid-js';
import { ROLES, USER_STATUSES, type UserStatus } from '../../../shared/api.ts';
import { ROLE_LABELS } from '../../access.ts';
import type { UserFilters } from '../../api/admin.ts';
import { Field, Select } from '../../components/Field.tsx';
import { FilterBar } from '../../components/FilterBar.tsx';

const SEARCH_DELAY_MS = 300;

const STATUS_LABELS: Record<UserStatus, string> = { active: 'Active', disabled: 'Disabled' };

function filtersFrom(fields: FormData): UserFilters {
  return {
    q: String(fields.get('q') ?? '').trim(),
    role: ROLES.find((role) => role === fields.get('role')) ?? '',
    status: USER_STATUSES.find((status) => status === fields.get('status')) ?? '',
  };
}

/** Search as you type (after a pause), or at once on Enter or a changed filter. */
export const UserFilterBar: Component<{ initialQuery?: string; onChange: (filters: UserFilters) => void }> = (props) => (
  <FilterBar label="Filter users" delayMs={SEARCH_DELAY_MS} onApply={(fields) => props.onChange(filtersFrom(fields))}>
    {(apply) => (
      <>
        <Field label="Search" class="grow">
          {(control) => (
            <input {...control} name="q" type="search" value={props.initialQuery ?? ''} autocomplete="off" spellcheck={false} onInput={apply.soon} />
          )}
        </Field>
        <Field label="Filter by role">
          {(control) => <Select control={control} name="role" any="All roles" values={ROLES} labels={ROLE_LABELS} onChange={apply.now} />}
        </Field>
        <Field label="Filter by status">
          {(control) => <Select control={control} name="status" any="Any status" values={USER_STATUSES} labels={STATUS_LABELS} onChange={apply.now} />}
        </Field>
      </>
    )}
  </FilterBar>
);
