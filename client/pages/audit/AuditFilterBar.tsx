import { createSignal, createUniqueId, type Component } from 'solid-js';
import { AUDIT_ACTIONS, OUTCOMES, SEVERITIES, type AuditSearch } from '../../../shared/audit.ts';
import { Field, Select } from '../../components/Field.tsx';
import { AUDIT_ACTION_LABELS } from '../../../shared/auditLabels.ts';
import { OUTCOME_LABELS } from './eventText.ts';
import { fromLocalInput, toLocalInput } from './filters.ts';

/** Actions in the order of their labels, which is how a reader looks for one. */
const ACTIONS = (Object.keys(AUDIT_ACTIONS) as Array<keyof typeof AUDIT_ACTIONS>).sort((a, b) => AUDIT_ACTION_LABELS[a].localeCompare(AUDIT_ACTION_LABELS[b]));
const SEVERITY_LABELS = { info: 'Info', low: 'Low', medium: 'Medium', high: 'High', critical: 'Critical' };

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

/** A free-text filter: what was typed, trimmed; empty matches anything. The hint is its description; the placeholder a short form of it. */
const TextFilter: Component<{ label: string; hint: string; placeholder: string; name: string; value: string | undefined }> = (props) => (
  <Field label={props.label} hint={props.hint}>
    {(control) => (
      <input {...control} name={props.name} type="search" autocomplete="off" spellcheck={false} placeholder={props.placeholder} value={props.value ?? ''} />
    )}
  </Field>
);

/**
 * The audit search, in one bar of aligned fields: applied on "Search" (or Enter); "Clear"
 * shows everything again.
 */
export const AuditFilterBar: Component<{ search: AuditSearch; onSearch: (search: AuditSearch) => void }> = (props) => {
  let form!: HTMLFormElement;
  const fieldsId = createUniqueId();
  // Phones show the fields on demand (the button is hidden on wider screens, where they always show).
  const [open, setOpen] = createSignal(false);
  const active = () => Object.values(props.search).filter((value) => value !== undefined).length;

  return (
    <form
      ref={form}
      role="search"
      aria-label="Search audit events"
      class="audit-filters"
      classList={{ 'filters-open': open() }}
      onSubmit={(event) => {
        event.preventDefault();
        props.onSearch(searchOf(form));
      }}
    >
      <button type="button" class="filter-toggle" aria-expanded={open()} aria-controls={fieldsId} onClick={() => setOpen(!open())}>
        Filters{active() > 0 ? ` (${active()})` : ''}
      </button>
      <div class="filter-fields" id={fieldsId}>
        <Field label="From" class="filter-time">
          {(control) => <input {...control} name="from" type="datetime-local" step="1" value={toLocalInput(props.search.from)} />}
        </Field>
        <Field label="To" class="filter-time">
          {(control) => <input {...control} name="to" type="datetime-local" step="1" value={toLocalInput(props.search.to)} />}
        </Field>
        <TextFilter label="Actor" hint="A username or a user id" placeholder="Username or id" name="actor" value={props.search.actor} />
        <Field label="Action">
          {(control) => <Select control={control} name="action" any="Any action" values={ACTIONS} labels={AUDIT_ACTION_LABELS} selected={props.search.action} />}
        </Field>
        <TextFilter label="Target" hint="The id of a user, key, grant or model" placeholder="Any id" name="target" value={props.search.target} />
        <Field label="Outcome">
          {(control) => <Select control={control} name="outcome" any="Any outcome" values={OUTCOMES} labels={OUTCOME_LABELS} selected={props.search.outcome} />}
        </Field>
        <Field label="Severity">
          {(control) => <Select control={control} name="severity" any="Any severity" values={SEVERITIES} labels={SEVERITY_LABELS} selected={props.search.severity} />}
        </Field>
        <TextFilter label="Model" hint="A model id, e.g. demo-restricted" placeholder="Model id" name="model" value={props.search.model} />
      </div>
      <div class="filter-actions">
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
