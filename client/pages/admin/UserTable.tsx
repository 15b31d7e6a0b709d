import { For, splitProps, type Component } from 'solid-js';
import { listUsers, type UserFilters } from '../../api/admin.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { LoadMore } from '../../components/LoadMore.tsx';
import { createCursorPages } from '../../lib/cursorPages.ts';
import { ResultCount } from './ResultCount.tsx';
import { USER_HEADINGS, UserRow, type UserRowProps } from './UserRow.tsx';

type UserTableProps = Omit<UserRowProps, 'user'> & { filters: UserFilters };

/** The users matching one set of filters, page after page. */
export const UserTable: Component<UserTableProps> = (props) => {
  const [search, rowProps] = splitProps(props, ['filters']);
  const list = createCursorPages((after) => listUsers(search.filters, after), 'id');
  const users = () => list.pages()?.flatMap((page) => page.users) ?? [];

  return (
    <DataTable
      columns={USER_HEADINGS}
      count={users().length}
      empty="No users match"
      footer={
        <>
          <ResultCount count={users().length} noun="user" more={list.nextCursor() !== null} />
          <LoadMore list={list} />
        </>
      }
    >
      <For each={users()}>{(user) => <UserRow user={user} {...rowProps} />}</For>
    </DataTable>
  );
};
