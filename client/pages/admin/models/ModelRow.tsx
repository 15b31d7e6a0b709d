import { useAction, useSubmission } from '@solidjs/router';
import { createUniqueId, createSignal, Match, Show, Switch, type Component } from 'solid-js';
import { isPendingChangeAnswer, type AdminModelView, type ModelTestResult, type PendingChangeView, type UpdateModelRequest } from '../../../../shared/api.ts';
import { testModel, updateModel } from '../../../api/adminModels.ts';
import { Badge } from '../../../components/Badge.tsx';
import type { ConfirmRequest } from '../../../components/ConfirmDialog.tsx';
import { ErrorAlert } from '../../../components/ErrorAlert.tsx';
import { settled } from '../../../lib/settled.ts';
import { ModelFields, readModelForm } from './ModelForm.tsx';
import { MODEL_PROVIDER_VIEWS } from './modelProviderViews.ts';
import { PendingNotice } from '../approvals/PendingNotice.tsx';
import { plural } from '../../../lib/plural.ts';

export const MODEL_COLUMNS = 6;

/** "5 minutes", "90 seconds": whole minutes when they are. */
function grantLength(seconds: number): string {
  return seconds % 60 === 0 ? plural(seconds / 60, 'minute') : plural(seconds, 'second');
}

/** Only the settings that differ from the model's: the audit log then records just those. */
function changesFrom(model: AdminModelView, form: HTMLFormElement): UpdateModelRequest {
  const { id: _id, ...values } = readModelForm(form);
  return Object.fromEntries(Object.entries(values).filter(([name, value]) => model[name as keyof AdminModelView] !== value)) as UpdateModelRequest;
}

const TestResult: Component<{ result: ModelTestResult }> = (props) => (
  <Switch>
    <Match when={props.result.ok && props.result}>
      {(ok) => (
        <p class="test-result ok" role="status">
          Connection OK in {ok().latencyMs} ms{ok().reply ? ` — the model replied “${ok().reply}”` : ''}.
        </p>
      )}
    </Match>
    <Match when={!props.result.ok && props.result}>
      {(failed) => (
        <div class="alert" role="alert">
          <p>
            Connection failed after {failed().latencyMs} ms: {failed().message} <code>{failed().code}</code>
          </p>
        </div>
      )}
    </Match>
  </Switch>
);

/** One model of the catalog and what an admin can do with it. */
export const ModelRow: Component<{ model: AdminModelView; confirm: (request: ConfirmRequest) => Promise<boolean> }> = (props) => {
  // Row buttons say which row they act on ("Delete", described by the row's name).
  const rowId = createUniqueId();
  const updating = useSubmission(updateModel, ([id]) => id === props.model.id);
  const testing = useSubmission(testModel, ([id]) => id === props.model.id);
  const update = useAction(updateModel);
  const test = useAction(testModel);
  const [editing, setEditing] = createSignal(false);
  /** A new base URL or key variable the two-person rule held for a second admin: said in place of a success. */
  const [held, setHeld] = createSignal<PendingChangeView>();
  const busy = () => Boolean(updating.pending || testing.pending);
  let editButton: HTMLButtonElement | undefined;

  function stopEditing() {
    setEditing(false);
    editButton?.focus();
  }

  async function save(event: SubmitEvent & { currentTarget: HTMLFormElement }) {
    event.preventDefault();
    if (busy()) return;
    const changes = changesFrom(props.model, event.currentTarget);
    if (Object.keys(changes).length === 0) return stopEditing();
    setHeld(undefined);
    const answer = await settled(update(props.model.id, changes));
    if (!answer) return;
    if (isPendingChangeAnswer(answer)) setHeld(answer.pendingChange);
    stopEditing();
  }

  async function toggleEnabled() {
    if (busy()) return;
    const enabling = !props.model.enabled;
    if (!enabling) {
      const confirmed = await props.confirm({
        title: `Disable ${props.model.displayName}?`,
        message: 'Nobody will be able to choose this model until it is enabled again.',
        confirmLabel: 'Disable',
      });
      if (!confirmed) return;
    }
    testing.clear();
    await settled(update(props.model.id, { enabled: enabling }));
  }

  async function testConnection() {
    if (busy()) return;
    updating.clear();
    await settled(test(props.model.id));
  }

  return (
    <>
      <tr aria-busy={busy()}>
        <th scope="row" id={rowId}>
          {props.model.displayName}
          <br />
          <code class="muted">{props.model.id}</code>
        </th>
        <td data-label="Tier">
          <Badge kind="tier" value={props.model.tier} />
          <Show when={props.model.tier === 'restricted'}>
            <br />
            <small class="muted">
              Grants last {grantLength(props.model.grantSeconds)}{props.model.requiresUserVerification ? '; PIN or fingerprint' : ''}
            </small>
          </Show>
        </td>
        <td data-label="Upstream">
          <Show
            when={MODEL_PROVIDER_VIEWS[props.model.provider].badge}
            fallback={
              <>
                <span>{props.model.upstreamModel}</span>
                <br />
                <small class="muted">{props.model.baseUrl}</small>
              </>
            }
          >
            {(flag) => <Badge kind="flag" value={flag()} />}
          </Show>
        </td>
        <td data-label="API key variable">
          <Show when={props.model.apiKeyEnv} fallback={<span class="muted">None</span>}>
            {(name) => (
              <>
                <code>{name()}</code>
                <br />
                <small class="muted">{props.model.apiKeyConfigured ? 'set on this server' : 'not set on this server'}</small>
              </>
            )}
          </Show>
        </td>
        <td data-label="Status">{props.model.enabled ? 'Enabled' : <strong>Disabled</strong>}</td>
        <td class="row-actions">
          <button type="button" aria-describedby={rowId} ref={editButton} aria-expanded={editing()} onClick={() => (busy() ? undefined : setEditing(!editing()))}>
            Edit
          </button>
          <button type="button" aria-describedby={rowId} class={props.model.enabled ? 'danger' : undefined} onClick={toggleEnabled}>
            {props.model.enabled ? 'Disable' : 'Enable'}
          </button>
          <button type="button" aria-describedby={rowId} onClick={testConnection} aria-busy={Boolean(testing.pending)}>
            {testing.pending ? 'Testing…' : 'Test connection'}
          </button>
        </td>
      </tr>
      <Show when={editing()}>
        <tr class="row-alert">
          <td colspan={MODEL_COLUMNS}>
            <form class="model-form" aria-label={`Edit ${props.model.displayName}`} onSubmit={save} onKeyDown={(e) => e.key === 'Escape' && stopEditing()}>
              <ModelFields model={props.model} />
              <div class="form-actions">
                <button type="submit" class="primary">
                  Save
                </button>
                <button type="button" onClick={stopEditing}>
                  Cancel
                </button>
              </div>
            </form>
          </td>
        </tr>
      </Show>
      <Show when={busy() || updating.error || testing.error || testing.result || held()}>
        <tr class="row-alert">
          <td colspan={MODEL_COLUMNS}>
            <Show when={!updating.pending && held()} keyed>
              {(change) => <PendingNotice change={change} />}
            </Show>
            <Show when={!testing.pending && testing.result}>{(result) => <TestResult result={result()} />}</Show>
            <ErrorAlert error={updating.error ?? testing.error} />
          </td>
        </tr>
      </Show>
    </>
  );
};
