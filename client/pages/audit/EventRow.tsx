import { A } from '@solidjs/router';
import { createSignal, createUniqueId, Show, type Component, type JSX } from 'solid-js';
import type { AuditEventView } from '../../../shared/audit.ts';
import { Badge } from '../../components/Badge.tsx';
import { Time } from '../../components/Time.tsx';
import { isAlert } from './filters.ts';

const EVENT_COLUMNS = 8;

/** Where the admin console shows a target; auditors have no console, so they see plain ids. */
const ADMIN_PAGES: Partial<Record<string, (id: string) => string>> = {
  user: (id) => `/admin/users?q=${encodeURIComponent(id)}`,
  key: (id) => `/admin/keys?key=${encodeURIComponent(id)}`,
};

/** A user, key or grant id: a link into the admin console for admins, plain text otherwise. */
const Concerned: Component<{ type: string | null; id: string | null; linked: boolean }> = (props) => {
  const href = () => (props.linked && props.type && props.id ? ADMIN_PAGES[props.type]?.(props.id) : undefined);
  return (
    <Show when={props.id} fallback="—">
      {(id) => (
        <Show when={href()} fallback={<code>{id()}</code>}>
          {(link) => (
            <A href={link()}>
              <code>{id()}</code>
            </A>
          )}
        </Show>
      )}
    </Show>
  );
};

function target(event: AuditEventView): string {
  if (!event.targetType && !event.targetId) return '—';
  return [event.targetType, event.targetId].filter(Boolean).join(' ');
}

const Fact: Component<{ term: string; children: JSX.Element }> = (props) => (
  <>
    <dt>{props.term}</dt>
    <dd>{props.children}</dd>
  </>
);

/** One audit event; a click (or Enter on its number) opens everything recorded with it. */
export const EventRow: Component<{ event: AuditEventView; linkToAdmin: boolean; fresh?: boolean }> = (props) => {
  const [open, setOpen] = createSignal(false);
  const detailsId = createUniqueId();

  return (
    <>
      <tr
        class="event"
        classList={{ open: open(), alert: isAlert(props.event), fresh: props.fresh === true }}
        data-seq={props.event.seq}
        onClick={() => setOpen(!open())}
      >
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
            <dl class="facts" aria-label={`Event #${props.event.seq}`}>
              <Fact term="Sequence">#{props.event.seq}</Fact>
              <Fact term="Time">
                <code>{props.event.time}</code>
              </Fact>
              <Fact term="Actor">
                {props.event.actorUsername ?? 'system'}{' '}
                <Concerned type="user" id={props.event.actorId} linked={props.linkToAdmin} />
              </Fact>
              <Fact term="Action">
                <code>{props.event.action}</code>
              </Fact>
              <Fact term="Target">
                {props.event.targetType ?? '—'} <Concerned type={props.event.targetType} id={props.event.targetId} linked={props.linkToAdmin} />
              </Fact>
              <Fact term="Outcome">{props.event.outcome}</Fact>
              <Fact term="Severity">{props.event.severity}</Fact>
              <Fact term="IP">{props.event.ip ?? '—'}</Fact>
              <Fact term="User agent">{props.event.userAgent ?? '—'}</Fact>
              <Fact term="Model">{props.event.model ?? '—'}</Fact>
              <Fact term="Hash">
                <code>{props.event.hash}</code>
              </Fact>
              <Fact term="Previous hash">
                <code>{props.event.prevHash}</code>
              </Fact>
            </dl>
            {/* Text, never markup: details hold whatever a client sent. */}
            <pre class="details">{JSON.stringify(props.event.details, null, 2)}</pre>
          </td>
        </tr>
      </Show>
    </>
  );
};
