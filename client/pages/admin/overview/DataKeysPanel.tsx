import { createAsync } from '@solidjs/router';
import { createUniqueId, For, Show, type Component } from 'solid-js';
import type { DataKeysResponse } from '../../../../shared/api.ts';
import { fetchDataKeys } from '../../../api/adminOverview.ts';
import { DataBoundary } from '../../../components/DataBoundary.tsx';

const conversations = (n: number) => `${n} conversation${n === 1 ? '' : 's'}`;

const DataKeysBody: Component<{ state: DataKeysResponse }> = (props) => {
  const total = () => props.state.perKek.reduce((sum, kek) => sum + kek.conversations, 0);
  const max = () => Math.max(1, ...props.state.perKek.map((kek) => kek.conversations));
  return (
    <>
      <dl class="stat-cards">
        <div>
          <dt>Current key</dt>
          <dd>{props.state.currentKekId}</dd>
        </div>
        <div>
          <dt>Encrypted</dt>
          <dd>{total()}</dd>
        </div>
        <div>
          <dt>Still in plaintext</dt>
          <dd>{props.state.plaintextRestricted}</dd>
        </div>
        <div>
          <dt>Database check</dt>
          <dd>
            <Show
              when={props.state.encryptionConstraintValidated}
              fallback={
                <span class="badge badge-severity-medium" title="conversation_restricted_is_encrypted is validated once no restricted conversation is left in plaintext">
                  Pending
                </span>
              }
            >
              <span class="badge badge-status-active" title="PostgreSQL has checked every row: it refuses any restricted conversation in plaintext">
                Validated
              </span>
            </Show>
          </dd>
        </div>
        <div>
          <dt>Rotation</dt>
          <dd>
            <Show when={props.state.rotationComplete} fallback={<span class="badge badge-severity-medium">In progress</span>}>
              <span class="badge badge-status-active">Complete</span>
            </Show>
          </dd>
        </div>
      </dl>
      <Show when={props.state.perKek.length > 0} fallback={<p class="empty">No restricted conversation is stored yet</p>}>
        <ul class="reasons" aria-label="Data keys per key-encryption key">
          <For each={props.state.perKek}>
            {(kek) => (
              <li>
                <span>
                  {kek.kekId}{' '}
                  <Show when={kek.current}>
                    <span class="badge badge-status-active">current</span>
                  </Show>
                  <Show when={!kek.configured}>
                    <span class="badge badge-status-disabled" title="Not in DATA_ENCRYPTION_KEYS: these conversations cannot be read">missing</span>
                  </Show>
                </span>
                <span class="bar" style={{ width: `${(kek.conversations / max()) * 100}%` }} aria-hidden="true" />
                <span title={conversations(kek.conversations)}>{kek.conversations}</span>
              </li>
            )}
          </For>
        </ul>
      </Show>
      <Show when={props.state.perKek.some((kek) => !kek.configured)}>
        <p class="muted">Conversations under a missing key cannot be read: add that key back to DATA_ENCRYPTION_KEYS, after the current one.</p>
      </Show>
      <Show when={!props.state.rotationComplete}>
        <p class="muted">
          Run <code>npm run argus -- rotate-data-key</code>, and keep every listed key configured until it reports the rotation complete.
        </p>
      </Show>
      <Show when={props.state.plaintextRestricted > 0}>
        <p class="muted">
          Restricted conversations from before encryption are being encrypted in the background (or run <code>npm run argus -- encrypt-conversations</code>).
        </p>
      </Show>
    </>
  );
};

/** Admin overview: encryption at rest of restricted conversations (issue #21). */
export const DataKeysPanel: Component = () => {
  const headingId = createUniqueId();
  const state = createAsync(() => fetchDataKeys());
  return (
    <section class="panel" aria-labelledby={headingId}>
      <h2 id={headingId}>Restricted conversations at rest</h2>
      <DataBoundary queryKey={fetchDataKeys.key}>
        <Show when={state()}>{(s) => <DataKeysBody state={s()} />}</Show>
      </DataBoundary>
    </section>
  );
};
