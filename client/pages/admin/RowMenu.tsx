import { DropdownMenu } from '@kobalte/core/dropdown-menu';
import { For, type Component } from 'solid-js';

export interface RowMenuItem {
  label: string;
  run: () => void;
  danger?: boolean;
  /** Starts a group of its own (a line above it). */
  group?: boolean;
  /** Opens something that takes the focus itself (an inline form), so the menu does not hand it back to its button. */
  takesFocus?: boolean;
}

/**
 * A row's actions behind one "Actions" button, so every row's actions column is one button
 * wide. Kobalte's menu does the keyboard (Enter, Space or ↓ open it; arrows move; Escape
 * closes) and gives the focus back to the button; the chosen item runs once it has, so a
 * confirmation opened by it returns the focus there too.
 */
export const RowMenu: Component<{ describedBy: string; items: RowMenuItem[] }> = (props) => {
  let chosen: RowMenuItem | undefined;
  function afterClose(event: Event) {
    const item = chosen;
    chosen = undefined;
    if (!item) return;
    if (item.takesFocus) event.preventDefault();
    // After the focus is back on the button (a dialog opened now returns it there).
    setTimeout(item.run);
  }
  return (
    // Not modal: a modal menu hides the page (aria-hidden) while the focus can still reach it.
    <DropdownMenu placement="bottom-end" gutter={4} modal={false}>
      <DropdownMenu.Trigger class="row-menu-button" aria-describedby={props.describedBy}>
        Actions<span aria-hidden="true"> ▾</span>
      </DropdownMenu.Trigger>
      <DropdownMenu.Portal>
        <DropdownMenu.Content class="admin-row-menu" onCloseAutoFocus={afterClose}>
          <For each={props.items}>
            {(item, index) => (
              // A line above a new group is drawn, not a separator element: a menu may own only items and groups.
              <DropdownMenu.Item
                class="admin-row-menu-item"
                classList={{ danger: item.danger, 'starts-group': item.group && index() > 0 }}
                onSelect={() => (chosen = item)}
              >
                {item.label}
              </DropdownMenu.Item>
            )}
          </For>
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu>
  );
};
