import { createAsync, type RouteDefinition } from '@solidjs/router';
import { createUniqueId, For, Show, type Component } from 'solid-js';
import { listAdminModels } from '../../api/adminModels.ts';
import { ConfirmDialog, createConfirmation, type ConfirmRequest } from '../../components/ConfirmDialog.tsx';
import { DataBoundary } from '../../components/DataBoundary.tsx';
import { AddModelForm } from './models/AddModelForm.tsx';
import { ModelRow } from './models/ModelRow.tsx';

export const route = {
  preload: () => listAdminModels(),
} satisfies RouteDefinition;

const ModelTable: Component<{ confirm: (request: ConfirmRequest) => Promise<boolean> }> = (props) => {
  const list = createAsync(() => listAdminModels());
  return (
    <Show when={list()?.models.length} fallback={<p class="empty">No models yet</p>}>
      <div class="table-wrap stacked-cards">
        <table>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Tier</th>
              <th scope="col">Upstream</th>
              <th scope="col">API key variable</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            <For each={list()?.models}>{(model) => <ModelRow model={model} confirm={props.confirm} />}</For>
          </tbody>
        </table>
      </div>
      <p class="muted">
        Changes and connection tests ask for a touch of your security key if you have not used it in the last few minutes. A new base URL or API key
        variable waits for a second admin's approval whenever another admin could give it.
      </p>
    </Show>
  );
};

/** Admin console: the model catalog — add, edit, enable or disable, test the connection. */
export const ModelsTab: Component = () => {
  const confirmation = createConfirmation();
  const headingId = createUniqueId();

  return (
    <>
      <section class="panel" aria-labelledby={headingId}>
        <h2 id={headingId}>Model catalog</h2>
        <DataBoundary queryKey={listAdminModels.key}>
          <ModelTable confirm={confirmation.confirm} />
        </DataBoundary>
      </section>
      <AddModelForm />
      <ConfirmDialog request={confirmation.request()} onClose={confirmation.answer} />
    </>
  );
};
