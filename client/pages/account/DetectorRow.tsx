import { useAction, useSubmission, type Action } from '@solidjs/router';
import { For, Show, type Component } from 'solid-js';
import type { DetectorView } from '../../../shared/detector.ts';
import type { ConfirmRequest } from '../../components/ConfirmDialog.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Time } from '../../components/Time.tsx';
import { settled } from '../../lib/settled.ts';

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
  const revoking = useSubmission(props.revoke, ([id]) => id === props.detector.id);
  const revoke = useAction(props.revoke);
  const columns = () => (props.showOwner ? 7 : 6);

  async function revokeDetector() {
    if (revoking.pending) return;
    const confirmed = await props.confirm({
      title: `Revoke “${props.detector.name}”?`,
      message: 'Its connection closes at once and it can no longer report keys. Pair it again to use it.',
      confirmLabel: 'Revoke',
    });
    if (!confirmed) return;
    if (await settled(revoke(props.detector.id))) props.onRevoked();
  }

  return (
    <>
      <tr aria-busy={Boolean(revoking.pending)}>
        <th scope="row">{props.detector.name}</th>
        <Show when={props.showOwner}>
          <td>@{props.detector.ownerUsername}</td>
        </Show>
        <td>
          <span class={`badge badge-detector-${props.detector.online ? 'online' : 'offline'}`}>{props.detector.online ? 'Online' : 'Offline'}</span>
        </td>
        <td>
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
        <td>
          <Show when={props.detector.lastSeenAt} fallback={<span class="muted">Never</span>}>
            {(seen) => <Time value={seen()} />}
          </Show>
        </td>
        <td>
          <Time value={props.detector.createdAt} />
        </td>
        <td>
          <div class="row-actions">
            <button type="button" class="danger" onClick={revokeDetector} aria-label={`Revoke ${props.detector.name}`}>
              Revoke
            </button>
          </div>
        </td>
      </tr>
      <Show when={revoking.error}>
        <tr class="row-alert">
          <td colspan={columns()}>
            <ErrorAlert error={revoking.error} />
          </td>
        </tr>
      </Show>
    </>
  );
};

/** The table head that goes with DetectorRow. */
export const DetectorTableHead: Component<{ showOwner: boolean }> = (props) => (
  <thead>
    <tr>
      <th scope="col">Name</th>
      <Show when={props.showOwner}>
        <th scope="col">Owner</th>
      </Show>
      <th scope="col">Status</th>
      <th scope="col">Keys seen</th>
      <th scope="col">Last seen</th>
      <th scope="col">Paired</th>
      <th scope="col">Actions</th>
    </tr>
  </thead>
);
