import { createSignal, createUniqueId, Show, type Component } from 'solid-js';
import type { AuditEventView } from '../../../shared/audit.ts';
import { Badge } from '../../components/Badge.tsx';
import { Time } from '../../components/Time.tsx';

const EVENT_COLUMNS = 8;

function target(event: AuditEventView): string {
  if (!event.targetType && !event.targetId) return '—';
  return [event.targetType, event.targetId].filter(Boolean).join(' ');
}

/** One audit event; a click (or Enter on its number) opens everything recorded with it. */
export const EventRow: Component<{ event: AuditEventView }> = (props) => {
  const [open, setOpen] = createSignal(false);
  const detailsId = createUniqueId();

  return (
    <>
      <tr class="event" classList={{ open: open() }} onClick={() => setOpen(!open())}>
        <td>
          {/* The row's click handler toggles; this button makes that reachable by keyboard. */}
          <button type="button" class="link" aria-expanded={open()} aria-controls={detailsId}>
            #{props.event.seq}
          </button>
        </td>
        <td>
          <Time value={props.event.time} />
        </td>
        <td>{props.event.actorUsername ?? props.event.actorId ?? 'system'}</td>
        <td>
          <code>{props.event.action}</code>
        </td>
        <td>{target(props.event)}</td>
        <td>{props.event.outcome}</td>
        <td>
          <Badge kind="severity" value={props.event.severity} />
        </td>
        <td>{props.event.ip ?? '—'}</td>
      </tr>
      <Show when={open()}>
        <tr class="event-details" id={detailsId}>
          <td colspan={EVENT_COLUMNS}>
            <dl class="facts">
              <dt>User agent</dt>
              <dd>{props.event.userAgent ?? '—'}</dd>
              <dt>Model</dt>
              <dd>{props.event.model ?? '—'}</dd>
              <dt>Hash</dt>
              <dd>
                <code>{props.event.hash}</code>
              </dd>
              <dt>Previous hash</dt>
              <dd>
                <code>{props.event.prevHash}</code>
              </dd>
            </dl>
            {/* Text, never markup: details hold whatever a client sent. */}
            <pre class="details">{JSON.stringify(props.event.details, null, 2)}</pre>
          </td>
        </tr>
      </Show>
    </>
  );
};
