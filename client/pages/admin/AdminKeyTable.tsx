import { For, Show, type Component } from 'solid-js';
import { listAdminKeys, type KeyFilters } from '../../api/adminKeys.ts';
import { LoadMore } from '../../components/LoadMore.tsx';
import { createCursorPages } from '../../lib/cursorPages.ts';
import { AdminKeyRow, type AdminKeyRowProps } from './AdminKeyRow.tsx';

type AdminKeyTableProps = Omit<AdminKeyRowProps, 'securityKey'> & { filters: KeyFilters };

/** Every user's security keys matching one set of filters, page after page. */
export const AdminKeyTable: Component<AdminKeyTableProps> = (props) => {
  const list = createCursorPages((after) => listAdminKeys(props.filters, after), 'id');
  const keys = () => list.pages()?.flatMap((page) => page.keys) ?? [];

  return (
    <Show when={keys().length > 0} fallback={<p class="empty">No security keys match</p>}>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Nickname</th>
              <th scope="col">Owner</th>
              <th scope="col">Model</th>
              <th scope="col">Status</th>
              <th scope="col">Added</th>
              <th scope="col">Last used</th>
              <th scope="col">Counter</th>
              <th scope="col">Device (WebHID)</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            <For each={keys()}>
              {(securityKey) => (
                <AdminKeyRow securityKey={securityKey} confirm={props.confirm} onDeleted={props.onDeleted} />
              )}
            </For>
          </tbody>
        </table>
      </div>
      <LoadMore list={list} />
    </Show>
  );
};
