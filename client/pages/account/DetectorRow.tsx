import type { Action } from '@solidjs/router';
import { For, Show, type Component } from 'solid-js';
import type { DetectorView } from '../../../shared/detector.ts';
import type { ConfirmRequest } from '../../components/ConfirmDialog.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { TimeCell } from '../../components/TimeCell.tsx';
import { useRowActions } from '../../lib/rowActions.ts';

export interface DetectorRowProps {
  detector: DetectorView;
  /** Admins see whose detector it is. */
  showOwner: boolean;
  revoke: Action<[string], unknown>;
  confirm: (request: ConfirmRequest) => Promise<boolean>;
  onRevoked: () => void;
}

/** One paired detector: online or not, the keys it sees, when it was last seen; revocable. */
export const DetectorRow: Component<DetectorRowProps> = (props) => {
  const row = useRowActions({
    id: () => props.detector.id,
    actions: { revoke: props.revoke },
    confirm: (request) => props.confirm(request),
  });

  async function revokeDetector() {
    const revoked = await row.act(() => row.run.revoke(props.detector.id), {
      title: `Revoke “${props.detector.name}”?`,
      message: 'Its connection closes at once and it can no longer report keys. Pair it again to use it.',
      confirmLabel: 'Revoke',
    });
    if (revoked) props.onRevoked();
  }

  return (
    <>
      <tr aria-busy={row.busy()}>
        <th scope="row">{props.detector.name}</th>
        <Show when={props.showOwner}>
          <td data-label="Owner">@{props.detector.ownerUsername}</td>
        </Show>
        <td data-label="Status">
          <span class={`badge badge-detector-${props.detector.online ? 'online' : 'offline'}`}>{props.detector.online ? 'Online' : 'Offline'}</span>
        </td>
        <td data-label="Keys seen">
          <Show when={props.detector.keys.length > 0} fallback={<span class="muted">None</span>}>
            <ul class="plain">
              <For each={props.detector.keys}>
                {(key) => (
                  <li>
                    {key.product ?? 'Security key'}
                    <Show when={key.serialNumber}> ({key.serialNumber})</Show>
                  </li>
                )}
              </For>
            </ul>
          </Show>
        </td>
        <TimeCell value={props.detector.lastSeenAt} label="Last seen" />
        <TimeCell value={props.detector.createdAt} label="Paired" />
        <td>
          <div class="row-actions">
            <button type="button" class="danger" onClick={revokeDetector} aria-label={`Revoke ${props.detector.name}`}>
              Revoke
            </button>
          </div>
        </td>
      </tr>
      <Show when={row.error()}>
        <tr class="row-alert">
          <td colspan={detectorHeadings(props.showOwner).length}>
            <ErrorAlert error={row.error()} />
          </td>
        </tr>
      </Show>
    </>
  );
};

/** The headings, in the order DetectorRow renders its cells. */
export function detectorHeadings(showOwner: boolean): string[] {
  return ['Name', ...(showOwner ? ['Owner'] : []), 'Status', 'Keys seen', 'Last seen', 'Paired', 'Actions'];
}
