import { createAsync, revalidate } from '@solidjs/router';
import { createUniqueId, For, onCleanup, Show, type Component } from 'solid-js';
import type { AuditSinkKind, AuditSinkState, AuditSinkView } from '../../../shared/auditSinks.ts';
import { listAuditSinks } from '../../api/auditSinks.ts';
import { DataBoundary } from '../../components/DataBoundary.tsx';
import { DataTable } from '../../components/DataTable.tsx';
import { plural } from '../../lib/plural.ts';
import { createNow, exactTime, relativeTime } from '../../lib/relativeTime.ts';

const KIND_LABELS: Record<AuditSinkKind, string> = { syslog: 'Syslog (TLS)', http: 'HTTP', 'checkpoint-file': 'Checkpoint file' };
const STATE_LABELS: Record<AuditSinkState, string> = { delivering: 'Delivering', retrying: 'Retrying', down: 'Down' };

/** Lag moves on by itself: read the sinks again this often while the page is open. */
const REFRESH_MS = 10_000;

/** "Up to date", or "1,204 events · 3 s behind". */
function lagText(sink: AuditSinkView): string {
  if (sink.lagEvents === 0 && sink.lagSeconds === 0) return 'Up to date';
  const seconds = sink.lagSeconds < 10 ? sink.lagSeconds.toFixed(1) : Math.round(sink.lagSeconds).toLocaleString();
  return `${plural(sink.lagEvents, 'event')} · ${seconds} s behind`;
}

const SinkRow: Component<{ sink: AuditSinkView; now: number }> = (props) => (
  <tr data-testid="audit-sink" data-sink={props.sink.id}>
    <td data-label="Sink">{KIND_LABELS[props.sink.kind]}</td>
    <td data-label="Target">
      <code>{props.sink.target}</code>
    </td>
    <td data-label="Format">{props.sink.format}</td>
    <td data-label="State">
      <span
        class="chain-status"
        classList={{ intact: props.sink.state === 'delivering', broken: props.sink.state === 'down' }}
        title={props.sink.consecutiveFailures ? `${plural(props.sink.consecutiveFailures, 'failed attempt')} in a row` : undefined}
      >
        {STATE_LABELS[props.sink.state]}
      </span>
    </td>
    <td data-label="Lag">{lagText(props.sink)}</td>
    <td data-label="Last delivered">
      <Show when={props.sink.lastDeliveredAt} fallback={<span class="muted">Never</span>}>
        {(at) => (
          <span title={exactTime(at())}>
            #{props.sink.lastDeliveredSeq.toLocaleString()}, {relativeTime(at(), props.now)}
          </span>
        )}
      </Show>
    </td>
    <td data-label="Last error">
      <Show when={props.sink.lastError} fallback={<span class="muted">None</span>}>
        {(error) => (
          <span title={props.sink.lastErrorAt ? exactTime(props.sink.lastErrorAt) : undefined} classList={{ muted: props.sink.state === 'delivering' }}>
            {error()}
            <Show when={props.sink.lastErrorAt}>{(at) => <> ({relativeTime(at(), props.now)})</>}</Show>
          </span>
        )}
      </Show>
    </td>
  </tr>
);

const SinkTable: Component = () => {
  const sinks = createAsync(() => listAuditSinks());
  const now = createNow(REFRESH_MS);
  return (
    <DataTable
      columns={['Sink', 'Target', 'Format', 'State', 'Lag', 'Last delivered', 'Last error']}
      count={sinks()?.length}
      empty="No SIEM sink configured — see docs/deploy.md"
    >
      <For each={sinks()}>{(sink) => <SinkRow sink={sink} now={now()} />}</For>
    </DataTable>
  );
};

/** Where the audit log streams to (syslog, HTTP, the checkpoint file), each sink's state, lag and last error. */
export const SinkStatus: Component = () => {
  const headingId = createUniqueId();
  const timer = setInterval(() => void revalidate(listAuditSinks.key), REFRESH_MS);
  onCleanup(() => clearInterval(timer));
  return (
    <section class="panel" aria-labelledby={headingId}>
      <h2 id={headingId}>SIEM streaming</h2>
      <p class="muted">Every event and signed checkpoint, delivered as it happens to the receivers the operator configured. Lag counts events not yet delivered.</p>
      <DataBoundary queryKey={listAuditSinks.key}>
        <SinkTable />
      </DataBoundary>
    </section>
  );
};
