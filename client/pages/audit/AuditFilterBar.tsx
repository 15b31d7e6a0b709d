import type { Component } from 'solid-js';
import { AUDIT_ACTIONS, OUTCOMES, SEVERITIES, type AuditSearch } from '../../../shared/audit.ts';
import { Field, Select } from '../../components/Field.tsx';
import { fromLocalInput, toLocalInput } from './filters.ts';

const ACTIONS = Object.keys(AUDIT_ACTIONS).sort();

function searchOf(form: HTMLFormElement): AuditSearch {
  const fields = new FormData(form);
  const text = (name: string) => String(fields.get(name) ?? '').trim() || undefined;
  return {
    from: fromLocalInput(String(fields.get('from') ?? '')),
    to: fromLocalInput(String(fields.get('to') ?? '')),
    actor: text('actor'),
    action: text('action'),
    target: text('target'),
    outcome: OUTCOMES.find((o) => o === fields.get('outcome')),
    severity: SEVERITIES.find((s) => s === fields.get('severity')),
    model: text('model'),
  };
}

/** A free-text filter: what was typed, trimmed; empty matches anything. */
const TextFilter: Component<{ label: string; hint?: string; name: string; value: string | undefined }> = (props) => (
  <Field label={props.label} hint={props.hint}>
    {(control) => <input {...control} name={props.name} type="search" autocomplete="off" spellcheck={false} value={props.value ?? ''} />}
  </Field>
);

/** The audit search: applied on "Search" (or Enter); "Clear" shows everything again. */
export const AuditFilterBar: Component<{ search: AuditSearch; onSearch: (search: AuditSearch) => void }> = (props) => {
  let form!: HTMLFormElement;

  return (
    <form
      ref={form}
      role="search"
      aria-label="Search audit events"
      class="inline-form audit-filters"
      onSubmit={(event) => {
        event.preventDefault();
        props.onSearch(searchOf(form));
      }}
    >
      <Field label="From">
        {(control) => <input {...control} name="from" type="datetime-local" step="1" value={toLocalInput(props.search.from)} />}
      </Field>
      <Field label="To">
        {(control) => <input {...control} name="to" type="datetime-local" step="1" value={toLocalInput(props.search.to)} />}
      </Field>
      <TextFilter label="Actor" hint="Username or user id" name="actor" value={props.search.actor} />
      <Field label="Action">
        {(control) => <Select control={control} name="action" any="Any action" values={ACTIONS} selected={props.search.action} />}
      </Field>
      <TextFilter label="Target" hint="User, key or grant id" name="target" value={props.search.target} />
      <Field label="Outcome">
        {(control) => <Select control={control} name="outcome" any="Any outcome" values={OUTCOMES} selected={props.search.outcome} />}
      </Field>
      <Field label="Severity">
        {(control) => <Select control={control} name="severity" any="Any severity" values={SEVERITIES} selected={props.search.severity} />}
      </Field>
      <TextFilter label="Model" name="model" value={props.search.model} />
      <div class="form-actions">
        <button type="submit" class="primary">
          Search
        </button>
        <button
          type="button"
          onClick={() => {
            form.reset();
            props.onSearch({});
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
};
