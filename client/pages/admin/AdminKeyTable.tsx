import { For, type Component } from 'solid-js';
import { listAdminKeys, type KeyFilters } from '../../api/adminKeys.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { LoadMore } from '../../components/LoadMore.tsx';
import { createCursorPages } from '../../lib/cursorPages.ts';
import { ResultCount } from './ResultCount.tsx';
import { ADMIN_KEY_HEADINGS, AdminKeyRow, type AdminKeyRowProps } from './AdminKeyRow.tsx';

type AdminKeyTableProps = Omit<AdminKeyRowProps, 'securityKey'> & { filters: KeyFilters };

/** Every user's security keys matching one set of filters, page after page. */
export const AdminKeyTable: Component<AdminKeyTableProps> = (props) => {
  const list = createCursorPages((after) => listAdminKeys(props.filters, after), 'id');
  const keys = () => list.pages()?.flatMap((page) => page.keys) ?? [];

  return (
    <DataTable
      columns={ADMIN_KEY_HEADINGS}
      count={keys().length}
      empty="No security keys match"
      footer={
        <>
          <ResultCount count={keys().length} noun="security key" more={list.nextCursor() !== null} />
          <LoadMore list={list} />
        </>
      }
    >
      <For each={keys()}>
        {(securityKey) => <AdminKeyRow securityKey={securityKey} confirm={props.confirm} onDeleted={props.onDeleted} />}
      </For>
    </DataTable>
  );
};
