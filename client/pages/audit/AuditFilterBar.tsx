import { For, type Component } from 'solid-js';
import { AUDIT_ACTIONS, OUTCOMES, SEVERITIES, type AuditSearch } from '../../../shared/audit.ts';
import { Field } from '../../components/Field.tsx';
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
      <Field label="Actor" hint="Username or user id">
        {(control) => <input {...control} name="actor" type="search" autocomplete="off" spellcheck={false} value={props.search.actor ?? ''} />}
      </Field>
      <Field label="Action">
        {(control) => (
          <select {...control} name="action">
            <option value="">Any action</option>
            <For each={ACTIONS}>{(action) => <option value={action} selected={props.search.action === action}>{action}</option>}</For>
          </select>
        )}
      </Field>
      <Field label="Target" hint="User, key or grant id">
        {(control) => <input {...control} name="target" type="search" autocomplete="off" spellcheck={false} value={props.search.target ?? ''} />}
      </Field>
      <Field label="Outcome">
        {(control) => (
          <select {...control} name="outcome">
            <option value="">Any outcome</option>
            <For each={OUTCOMES}>{(outcome) => <option value={outcome} selected={props.search.outcome === outcome}>{outcome}</option>}</For>
          </select>
        )}
      </Field>
      <Field label="Severity">
        {(control) => (
          <select {...control} name="severity">
            <option value="">Any severity</option>
            <For each={SEVERITIES}>{(severity) => <option value={severity} selected={props.search.severity === severity}>{severity}</option>}</For>
          </select>
        )}
      </Field>
      <Field label="Model">
        {(control) => <input {...control} name="model" type="search" autocomplete="off" spellcheck={false} value={props.search.model ?? ''} />}
      </Field>
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
