import { createAsync } from '@solidjs/router';
import { createEffect, createMemo, createSignal, For, on, onCleanup, Show, type Component } from 'solid-js';
import type { AuditEventView } from '../../../../shared/audit.ts';
import { listRecentSecurityEvents } from '../../../api/adminLive.ts';
import { Badge } from '../../../components/Badge.tsx';
import { useEvents } from '../../../events.tsx';
import { actionLabel } from '../../../../shared/auditLabels.ts';
import { addToFeed, detectStorm, isHighlighted, STORM } from '../../../lib/securityFeed.ts';

const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

function who(event: AuditEventView): string {
  const actor = event.actorUsername ?? 'system';
  const target = event.targetType === 'user' && typeof event.details.username === 'string' ? ` → @${event.details.username}` : '';
  return `${actor}${target}${event.ip ? ` from ${event.ip}` : ''}`;
}

/**
 * The audit log as it happens (SECURITY_EVENT over the WebSocket), newest first, starting
 * with the last few events. High and critical events stand out, and the newest of them is
 * announced; a burst of failures is called out as a possible attack.
 */
export const SecurityFeed: Component = () => {
  const events = useEvents();
  const backlog = createAsync(() => listRecentSecurityEvents());
  const [feed, setFeed] = createSignal<AuditEventView[]>([]);
  const [now, setNow] = createSignal(Date.now());
  const [latestAlarm, setLatestAlarm] = createSignal<AuditEventView>();

  createEffect(on(backlog, (recent) => recent && setFeed((shown) => recent.events.reduce(addToFeed, shown))));
  onCleanup(
    events.subscribe('SECURITY_EVENT', ({ event }) => {
      setFeed((shown) => addToFeed(shown, event));
      if (isHighlighted(event)) setLatestAlarm(event);
    }),
  );
  // The storm window moves on even when nothing arrives.
  const timer = setInterval(() => setNow(Date.now()), 5_000);
  onCleanup(() => clearInterval(timer));
  const storm = createMemo(() => detectStorm(feed(), now()));

  return (
    <>
      <Show when={storm()}>
        {(found) => (
          <div class="alert storm" role="alert">
            <p>
              Possible attack: {found().count} failed sign-ins, key checks or refused unlocks in the last {STORM.windowMs / 1000} seconds.
            </p>
          </div>
        )}
      </Show>
      {/* Only the newest high or critical event is announced; the list itself stays quiet. */}
      <p class="visually-hidden" role="status">
        {latestAlarm() ? `${latestAlarm()!.severity} security event: ${actionLabel(latestAlarm()!.action)}` : ''}
      </p>
      <Show when={feed().length > 0 && events.state() !== 'connected'}>
        <p class="muted">Live updates are paused until the connection is back; nothing recorded meanwhile is lost from the audit log.</p>
      </Show>
      <Show when={feed().length > 0} fallback={<p class="empty">{events.state() === 'connected' ? 'Waiting for events…' : 'Connecting to the live feed…'}</p>}>
        {/* Scrolls on its own: focusable so a keyboard can scroll it too. */}
        <ol class="feed" aria-label="Security events, newest first" tabIndex={0}>
          <For each={feed()}>
            {(event) => (
              <li classList={{ highlight: isHighlighted(event) }} data-severity={event.severity}>
                <time datetime={event.time}>{timeFormat.format(new Date(event.time))}</time>
                <span>
                  <Badge kind="severity" value={event.severity} />
                </span>
                <span class="feed-what">
                  {/* The same words as the audit log; the code is a hover away. */}
                  <strong title={event.action}>{actionLabel(event.action)}</strong>
                  {event.outcome !== 'success' ? ` (${event.outcome})` : ''}
                  <br />
                  <small class="muted">{who(event)}</small>
                </span>
              </li>
            )}
          </For>
        </ol>
      </Show>
    </>
  );
};
