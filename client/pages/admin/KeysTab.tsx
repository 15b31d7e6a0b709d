import { createSignal, createUniqueId, Show, useTransition, type Component } from 'solid-js';
import { ALL_KEYS, listAdminKeys, sameKeyFilters, type KeyFilters } from '../../api/adminKeys.ts';
import { ConfirmDialog, createConfirmation } from '../../components/ConfirmDialog.tsx';
import { DataBoundary } from '../../components/DataBoundary.tsx';
import { AdminKeyTable } from './AdminKeyTable.tsx';
import { KeyFilterBar } from './KeyFilterBar.tsx';

export const preloadKeys = () => void listAdminKeys(ALL_KEYS, null);

/** Every registered security key: deactivate, reactivate, reassign, delete. */
export const KeysTab: Component = () => {
  const [filters, setFilters] = createSignal<KeyFilters>(ALL_KEYS, { equals: sameKeyFilters });
  const [searching, startSearch] = useTransition();
  const confirmation = createConfirmation();
  const headingId = createUniqueId();
  let heading!: HTMLHeadingElement;

  return (
    <section class="panel" aria-labelledby={headingId}>
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        Security keys
      </h2>
      <KeyFilterBar onChange={(next) => startSearch(() => setFilters(next))} />
      <div class="results" aria-busy={searching()}>
        <DataBoundary queryKey={listAdminKeys.key}>
          {/* New filters make a new list: paging starts again from the first page. */}
          <Show when={filters()} keyed>
            {(current) => (
              <AdminKeyTable filters={current} confirm={confirmation.confirm} onDeleted={() => heading.focus()} />
            )}
          </Show>
        </DataBoundary>
      </div>
      <ConfirmDialog request={confirmation.request()} onClose={confirmation.answer} />
    </section>
  );
};
