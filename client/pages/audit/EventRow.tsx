import { Show, type Component } from 'solid-js';
import { Badge } from '../../components/Badge.tsx';
import { actionLabel } from '../../../shared/auditLabels.ts';
import { isAlert } from './filters.ts';
import { exactTime, relativeTime } from '../../lib/relativeTime.ts';
import { OUTCOME_LABELS, targetText, targetTypeText, type ShownAuditEvent } from './eventText.ts';

/**
 * One audit event on one line: when, who, what, to what, how it ended. The whole row opens the
 * event's drawer (a click, or Enter while it has the focus); the drawer has every field.
 * Each cell carries its column's name for the stacked layout of narrow screens.
 */
export const EventRow: Component<{
  event: ShownAuditEvent;
  now: number;
  fresh?: boolean;
  /** The one row in the Tab order (the table moves the focus between rows with the arrow keys). */
  tabbable: boolean;
  onOpen: () => void;
}> = (props) => {
  const actor = () => props.event.actorUsername ?? props.event.actorId;
  const target = () => targetText(props.event);
  const targetTitle = () => [props.event.targetType, props.event.targetId].filter(Boolean).join(' ');

  return (
    <tr
      role="row"
      class="event"
      classList={{ alert: isAlert(props.event), fresh: props.fresh === true }}
      data-seq={props.event.seq}
      tabIndex={props.tabbable ? 0 : -1}
      onClick={() => props.onOpen()}
      onKeyDown={(event) => {
        if (event.key !== 'Enter' && event.key !== ' ') return;
        if (event.target !== event.currentTarget) return;
        event.preventDefault();
        props.onOpen();
      }}
    >
      <td role="cell" class="event-time" data-label="Time">
        <time datetime={props.event.time} title={exactTime(props.event.time)}>
          {relativeTime(props.event.time, props.now)}
        </time>
      </td>
      <td role="cell" class="event-actor" data-label="Actor" title={props.event.actorId ?? 'No signed-in user: the system or an anonymous request'}>
        <Show when={actor()} fallback={<span class="muted">system</span>}>
          {(name) => name()}
        </Show>
      </td>
      <td role="cell" class="event-action" data-label="Action" title={props.event.action}>
        {actionLabel(props.event.action)}
      </td>
      <td role="cell" class="event-target" data-label="Target" title={targetTitle() || undefined}>
        <Show when={target()} fallback={<span class="muted">—</span>}>
          {(text) => (
            <>
              <Show when={props.event.targetType}>{(type) => <span class="target-type">{targetTypeText(type())}</span>}</Show>
              <span classList={{ 'target-name': true, 'target-id': !props.event.targetName }}>{text()}</span>
            </>
          )}
        </Show>
      </td>
      <td role="cell" class="event-outcome" data-label="Outcome">
        <span class={`outcome outcome-${props.event.outcome}`}>{OUTCOME_LABELS[props.event.outcome]}</span>
      </td>
      <td role="cell" class="event-severity" data-label="Severity">
        <Badge kind="severity" value={props.event.severity} />
      </td>
      <td role="cell" class="event-ip" data-label="IP">
        {props.event.ip ?? <span class="muted">—</span>}
      </td>
      <td role="cell" class="event-seq" data-label="Seq">
        #{props.event.seq}
      </td>
    </tr>
  );
};
