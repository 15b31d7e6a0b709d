import { For, Show, type Component } from 'solid-js';
import { listUsers, type UserFilters } from '../../api/admin.ts';
import { createCursorPages } from '../../lib/cursorPages.ts';
import { UserRow, type UserRowProps } from './UserRow.tsx';
import { LoadMore } from '../../components/LoadMore.tsx';

type UserTableProps = Omit<UserRowProps, 'user'> & { filters: UserFilters };

/** The users matching one set of filters, page after page. */
export const UserTable: Component<UserTableProps> = (props) => {
  const list = createCursorPages((after) => listUsers(props.filters, after), 'id');
  const users = () => list.pages()?.flatMap((page) => page.users) ?? [];

  return (
    <Show when={users().length > 0} fallback={<p class="empty">No users match</p>}>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col">Display name</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            <For each={users()}>
              {(user) => <UserRow user={user} confirm={props.confirm} onIssued={props.onIssued} onDeleted={props.onDeleted} />}
            </For>
          </tbody>
        </table>
      </div>
      <LoadMore list={list} />
    </Show>
  );
};
