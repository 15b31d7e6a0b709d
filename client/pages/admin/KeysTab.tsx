import { useSearchParams, type RoutePreloadFunc } from '@solidjs/router';
import { createSignal, createUniqueId, Show, useTransition, type Component } from 'solid-js';
import { KEY_STATUSES } from '../../../shared/api.ts';
import { ALL_KEYS, listAdminKeys, sameKeyFilters, type KeyFilters } from '../../api/adminKeys.ts';
import { ConfirmDialog, createConfirmation } from '../../components/ConfirmDialog.tsx';
import { DataBoundary } from '../../components/DataBoundary.tsx';
import { AdminKeyTable } from './AdminKeyTable.tsx';
import { KeyFilterBar } from './KeyFilterBar.tsx';

/** A link may open the tab already narrowed: /admin/keys?owner=alice (from a user's row). */
function filtersFromLink(query: { owner?: string | string[]; status?: string | string[]; key?: string | string[] }): KeyFilters {
  return {
    ...(typeof query.key === 'string' && query.key ? { key: query.key } : {}),
    owner: typeof query.owner === 'string' ? query.owner.trim() : ALL_KEYS.owner,
    status: KEY_STATUSES.find((status) => status === query.status) ?? ALL_KEYS.status,
  };
}

export const preloadKeys: RoutePreloadFunc = ({ location }) => void listAdminKeys(filtersFromLink(location.query), null);

/** Every registered security key: deactivate, reactivate, reassign, delete. */
export const KeysTab: Component = () => {
  const [params] = useSearchParams();
  const initial = filtersFromLink(params);
  const [filters, setFilters] = createSignal<KeyFilters>(initial, { equals: sameKeyFilters });
  const [searching, startSearch] = useTransition();
  const confirmation = createConfirmation();
  const headingId = createUniqueId();
  let heading!: HTMLHeadingElement;

  return (
    <section class="panel" aria-labelledby={headingId}>
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        Security keys
      </h2>
      <KeyFilterBar initial={initial} onChange={(next) => startSearch(() => setFilters(next))} />
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
