import { For, Show, type Component } from 'solid-js';
import { listMyKeys } from '../../api/account.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { LoadMore } from '../../components/LoadMore.tsx';
import { createCursorPages } from '../../lib/cursorPages.ts';
import { KEY_HEADINGS, KeyRow, type KeyRowProps } from './KeyRow.tsx';

/** The signed-in user's security keys. */
export const KeyTable: Component<Omit<KeyRowProps, 'securityKey'>> = (props) => {
  const list = createCursorPages((after) => listMyKeys(after), 'id');
  const keys = () => list.pages()?.flatMap((page) => page.keys) ?? [];

  return (
    <DataTable
      columns={KEY_HEADINGS}
      count={keys().length}
      empty="No security keys registered"
      footer={
        <>
          <LoadMore list={list} />
          <Show when={keys().some((securityKey) => securityKey.synced)}>
            <p class="muted note">
              A synced passkey is kept by a phone or password manager and copied between devices. It can sign you in,
              but it never unlocks restricted models: those need a hardware security key.
            </p>
          </Show>
        </>
      }
    >
      <For each={keys()}>{(securityKey) => <KeyRow securityKey={securityKey} confirm={props.confirm} onRemoved={props.onRemoved} />}</For>
    </DataTable>
  );
};
