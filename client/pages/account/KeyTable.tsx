import { For, Show, type Component } from 'solid-js';
import { listMyKeys } from '../../api/account.ts';
import { createCursorPages } from '../../lib/cursorPages.ts';
import { KeyRow, type KeyRowProps } from './KeyRow.tsx';
import { LoadMore } from '../../components/LoadMore.tsx';

/** The signed-in user's security keys. */
export const KeyTable: Component<Omit<KeyRowProps, 'securityKey'>> = (props) => {
  const list = createCursorPages((after) => listMyKeys(after), 'id');
  const keys = () => list.pages()?.flatMap((page) => page.keys) ?? [];

  return (
    <Show when={keys().length > 0} fallback={<p class="empty">No security keys registered</p>}>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Nickname</th>
              <th scope="col">Model</th>
              <th scope="col">Added</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            <For each={keys()}>
              {(securityKey) => <KeyRow securityKey={securityKey} confirm={props.confirm} onRemoved={props.onRemoved} />}
            </For>
          </tbody>
        </table>
      </div>
      <LoadMore list={list} />
      <Show when={keys().some((securityKey) => securityKey.synced)}>
        <p class="muted note">
          A synced passkey is kept by a phone or password manager and copied between devices. It can sign you in,
          but it never unlocks restricted models: those need a hardware security key.
        </p>
      </Show>
    </Show>
  );
};
