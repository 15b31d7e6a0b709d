import { Match, Show, Switch, type Component } from 'solid-js';
import type { KeyAttestationView, SecurityKeyView } from '../../../shared/api.ts';
import { deleteAdminKey, reassignAdminKey, setAdminKeyStatus } from '../../api/adminKeys.ts';
import type { ConfirmRequest } from '../../components/ConfirmDialog.tsx';
import { InlineForm } from '../../components/InlineForm.tsx';
import { useRowActions } from '../../lib/rowActions.ts';
import { KeyStatusBadges } from '../account/KeyStatusBadges.tsx';
import { StepUpRowAlert } from '../account/StepUpPrompt.tsx';
import { RelativeTimeCell } from './RelativeTime.tsx';
import { RowMenu, type RowMenuItem } from './RowMenu.tsx';

/** The admin key table's headings, in the order AdminKeyRow renders its cells. */
export const ADMIN_KEY_HEADINGS = [
  'Nickname',
  'Owner',
  'Model',
  'Status',
  'Added',
  'Last used',
  'Counter',
  'Device (WebHID)',
  'Actions',
] as const;

export interface AdminKeyRowProps {
  securityKey: SecurityKeyView;
  confirm: (request: ConfirmRequest) => Promise<boolean>;
  /** After the key is gone, with its row: somewhere to put the focus. */
  onDeleted: () => void;
}

const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;

/** What WebHID saw of the key when it was registered (metadata, never proof), or a dash. */
const DeviceInfo: Component<{ securityKey: SecurityKeyView }> = (props) => (
  <Show when={props.securityKey.hid} fallback={<span class="muted">—</span>}>
    {(hid) => (
      <span>
        {hid().productName || 'Unnamed device'}{' '}
        <small class="muted">
          {hex(hid().vendorId)}:{hex(hid().productId)}
        </small>
      </span>
    )}
  </Show>
);

/** FIDO metadata's certification statuses, as people say them (FIDO_CERTIFIED_L2plus → "FIDO Certified L2+"). */
function certificationLabel(level: string): string {
  if (level === 'NOT_FIDO_CERTIFIED') return 'Not FIDO certified';
  if (level === 'SELF_ASSERTION_SUBMITTED') return 'Self-asserted';
  const certified = /^FIDO_CERTIFIED(?:_(L\d)(plus)?)?$/.exec(level);
  if (!certified) return level;
  return ['FIDO Certified', certified[1], certified[2] ? '+' : ''].filter(Boolean).join(' ').replace(' +', '+');
}

/**
 * What the key's registration proved about its model against FIDO metadata, under the model's
 * name: "Attested" and the certification level as badges; an unattested key (no metadata,
 * `none` or self attestation, an unknown maker) says so plainly, as the ordinary case it is
 * without FIDO_MDS_FILE.
 */
const KeyAttestation: Component<{ attestation: KeyAttestationView }> = (props) => (
  <Show when={props.attestation.attested} fallback={<small class="muted key-attestation">Unattested</small>}>
    <div class="badges key-attestation">
      <span
        class="badge badge-attestation-attested"
        title={props.attestation.certifiedAaguid ? `Certified AAGUID ${props.attestation.certifiedAaguid}` : 'Certified U2F attestation key'}
      >
        Attested
      </span>
      <Show when={props.attestation.certificationLevel}>
        {(level) => <span class="badge badge-attestation-level">{certificationLabel(level())}</span>}
      </Show>
    </div>
  </Show>
);

/**
 * One security key of any user and what an admin can do to it. Each change ends the grants
 * and sessions the key opened. A key suspended by clone detection is reactivated only with a
 * reason, which the audit log keeps.
 */
export const AdminKeyRow: Component<AdminKeyRowProps> = (props) => {
  const key = () => props.securityKey;
  const row = useRowActions({
    id: () => key().id,
    actions: { setStatus: setAdminKeyStatus, reassign: reassignAdminKey, remove: deleteAdminKey },
    confirm: (request) => props.confirm(request),
  });

  function deactivate() {
    return row.act(() => row.run.setStatus(key().id, { status: 'deactivated' }), {
      title: `Deactivate “${key().nickname}” of @${key().ownerUsername}?`,
      message: 'Sessions signed in with this key end now, and so does any access to restricted models it opened. It can be reactivated later.',
      confirmLabel: 'Deactivate',
    });
  }

  async function reactivate(reason?: string) {
    const change = reason ? { status: 'active' as const, reason } : { status: 'active' as const };
    if (await row.act(() => row.run.setStatus(key().id, change))) row.stopEditing();
  }

  /** A first key registered after company sign-in: from now on it signs in and unlocks like any other. */
  function approve() {
    return row.act(() => row.run.setStatus(key().id, { status: 'active' }), {
      title: `Approve “${key().nickname}” of @${key().ownerUsername}?`,
      message: 'It was registered right after a company sign-in. Once approved, it signs in and unlocks restricted models like any other key.',
      confirmLabel: 'Approve',
    });
  }

  async function moveTo(username: string) {
    if (await row.act(() => row.run.reassign(key().id, { username }))) row.stopEditing();
  }

  async function deleteKey() {
    const deleted = await row.act(() => row.run.remove(key().id), {
      title: `Delete “${key().nickname}” of @${key().ownerUsername}?`,
      message: 'The key can no longer sign in or unlock models, and the sessions it signed in end now. This cannot be undone.',
      confirmLabel: 'Delete',
    });
    if (deleted) props.onDeleted();
  }

  const menu = (): RowMenuItem[] => [
    key().status === 'active'
      ? { label: 'Deactivate', danger: true, run: () => void deactivate() }
      : key().status === 'suspended'
        ? { label: 'Reactivate', takesFocus: true, run: () => row.startEditing('reason') }
        : key().status === 'pending_approval'
          ? { label: 'Approve', run: () => void approve() }
          : { label: 'Reactivate', run: () => void reactivate() },
    { label: 'Reassign', takesFocus: true, run: () => row.startEditing('owner') },
    { label: 'Delete', danger: true, group: true, run: () => void deleteKey() },
  ];

  return (
    <>
      <tr aria-busy={row.busy()}>
        <th scope="row" id={row.headerId}>{key().nickname}</th>
        <td data-label="Owner">{key().ownerUsername}</td>
        <td data-label="Model">
          {key().modelName}
          <KeyAttestation attestation={key().attestation} />
        </td>
        <td data-label="Status">
          <KeyStatusBadges securityKey={key()} />
        </td>
        <RelativeTimeCell label="Added" value={key().createdAt} />
        <RelativeTimeCell label="Last used" value={key().lastUsedAt} />
        <td data-label="Counter" class="numeric">{key().signCount}</td>
        <td data-label="Device (WebHID)">
          <DeviceInfo securityKey={key()} />
        </td>
        <td class="row-menu-cell" ref={row.actionsRef}>
          <RowMenu describedBy={row.headerId} items={menu()} />
        </td>
      </tr>
      <Show when={row.editing()}>
        {(editing) => (
          <tr class="row-alert">
            <td colspan={ADMIN_KEY_HEADINGS.length}>
              <Switch>
                <Match when={editing() === 'reason'}>
                  <p class="muted">
                    <Show
                      when={key().statusReason?.startsWith('FIDO metadata')}
                      fallback="Clone detection suspended this key: its signature counter went backwards, which a copied key would cause."
                    >
                      FIDO metadata reports this key's model as compromised: {key().statusReason}. Reactivated, it is
                      not suspended again for this report, only for a newer one.
                    </Show>{' '}
                    Say why it is safe to use again; the audit log keeps your reason.
                  </p>
                  <InlineForm
                    label={`Reason to reactivate ${key().nickname}`}
                    submitLabel="Reactivate"
                    spellcheck={false}
                    minLength={3}
                    maxLength={500}
                    onSubmit={(reason) => void reactivate(reason)}
                    onCancel={row.stopEditing}
                  />
                </Match>
                <Match when={editing() === 'owner'}>
                  <InlineForm
                    label={`New owner of ${key().nickname} (username)`}
                    submitLabel="Move key"
                    spellcheck={false}
                    maxLength={63}
                    onSubmit={(username) => void moveTo(username)}
                    onCancel={row.stopEditing}
                  />
                </Match>
              </Switch>
            </td>
          </tr>
        )}
      </Show>
      <StepUpRowAlert columns={ADMIN_KEY_HEADINGS.length} busy={row.busy()} error={row.error()} />
    </>
  );
};
