import { Show, type Component } from 'solid-js';
import type { SecurityKeyView } from '../../../shared/api.ts';
import { removeMyKey, renameMyKey } from '../../api/account.ts';
import type { ConfirmRequest } from '../../components/ConfirmDialog.tsx';
import { InlineForm } from '../../components/InlineForm.tsx';
import { RowButton } from '../../components/RowButton.tsx';
import { TimeCell } from '../../components/TimeCell.tsx';
import { useRowActions } from '../../lib/rowActions.ts';
import { KeyStatusBadges } from './KeyStatusBadges.tsx';
import { StepUpRowAlert } from './StepUpPrompt.tsx';

/** The key table's headings, in the order KeyRow renders its cells. */
export const KEY_HEADINGS = ['Nickname', 'Model', 'Added', 'Last used', 'Status', 'Actions'] as const;

export interface KeyRowProps {
  securityKey: SecurityKeyView;
  confirm: (request: ConfirmRequest) => Promise<boolean>;
  /** After the key is gone, with its row: somewhere to put the focus. */
  onRemoved: () => void;
}

/** One of the user's keys and what they can do to it: rename it, remove it. */
export const KeyRow: Component<KeyRowProps> = (props) => {
  const row = useRowActions({
    id: () => props.securityKey.id,
    actions: { rename: renameMyKey, remove: removeMyKey },
    confirm: (request) => props.confirm(request),
  });

  async function save(nickname: string) {
    if (row.busy()) return;
    if (nickname === props.securityKey.nickname) return row.stopEditing();
    if (await row.act(() => row.run.rename(props.securityKey.id, nickname))) row.stopEditing();
  }

  async function removeKey() {
    const question = {
      title: `Remove “${props.securityKey.nickname}”?`,
      message: 'You will no longer be able to sign in or unlock models with this key. This cannot be undone.',
      confirmLabel: 'Remove',
    };
    if (await row.act(() => row.run.remove(props.securityKey.id), question)) props.onRemoved();
  }

  return (
    <>
      <tr aria-busy={row.busy()}>
        <th scope="row" id={row.headerId}>{props.securityKey.nickname}</th>
        <td data-label="Model">{props.securityKey.modelName}</td>
        <TimeCell label="Added" value={props.securityKey.createdAt} />
        <TimeCell label="Last used" value={props.securityKey.lastUsedAt} />
        <td data-label="Status">
          <KeyStatusBadges securityKey={props.securityKey} />
        </td>
        <td>
          <Show
            when={row.editing()}
            fallback={
              <div class="row-actions" ref={row.actionsRef}>
                <RowButton describedBy={row.headerId} onClick={() => row.startEditing('nickname')}>Rename</RowButton>
                <RowButton describedBy={row.headerId} danger onClick={removeKey}>Remove</RowButton>
              </div>
            }
          >
            <InlineForm
              label={`New nickname for ${props.securityKey.nickname}`}
              name="nickname"
              value={props.securityKey.nickname}
              submitLabel="Save"
              onSubmit={(nickname) => void save(nickname)}
              onCancel={row.stopEditing}
            />
          </Show>
        </td>
      </tr>
      <StepUpRowAlert columns={KEY_HEADINGS.length} busy={row.busy()} error={row.error()} />
    </>
  );
};
