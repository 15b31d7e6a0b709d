import { createSignal, For, onCleanup, Show, type Component } from 'solid-js';
import type { AuditEventView, AuditSearch } from '../../../shared/audit.ts';
import { listAuditEvents } from '../../api/audit.ts';
import { LoadMore } from '../../components/LoadMore.tsx';
import { useEvents } from '../../events.tsx';
import { createCursorPages } from '../../lib/cursorPages.ts';
import { useSession } from '../../session.tsx';
import { EventRow } from './EventRow.tsx';
import { isAlert, matchesSearch } from './filters.ts';

/** How many live events are kept above the loaded pages before the oldest drop off. */
const LIVE_LIMIT = 500;

/**
 * The events one search selects, page after page, with new ones from the live feed
 * (SECURITY_EVENT) on top while `live` is on.
 */
export const EventTable: Component<{ search: AuditSearch; live: boolean }> = (props) => {
  const session = useSession();
  const list = createCursorPages((after) => listAuditEvents(props.search, after), 'seq');
  const [arrived, setArrived] = createSignal<AuditEventView[]>([]);
  const loaded = () => list.pages()?.flatMap((page) => page.events) ?? [];
  const newestLoaded = () => loaded()[0]?.seq ?? 0;
  const liveEvents = () => arrived().filter((event) => event.seq > newestLoaded());
  const events = () => [...liveEvents(), ...loaded()];
  const linkToAdmin = () => session.user()?.role === 'admin';
  const alerts = () => liveEvents().filter(isAlert).length;

  onCleanup(
    useEvents().subscribe('SECURITY_EVENT', ({ event }) => {
      if (!props.live || !matchesSearch(event, props.search)) return;
      setArrived((current) => (current.some((e) => e.seq === event.seq) ? current : [event, ...current].slice(0, LIVE_LIMIT)));
    }),
  );

  return (
    <>
      <p class="live-count muted" role="status" aria-live="polite">
        <Show when={liveEvents().length > 0}>
          {liveEvents().length} new {liveEvents().length === 1 ? 'event' : 'events'} live
          <Show when={alerts() > 0}>, {alerts()} high or critical</Show>
        </Show>
      </p>
      <Show when={events().length > 0} fallback={<p class="empty">No audit events match</p>}>
        <div class="table-wrap">
          <table class="events" aria-label="Audit events">
            <thead>
              <tr>
                <th scope="col">Seq</th>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">Severity</th>
                <th scope="col">IP</th>
              </tr>
            </thead>
            <tbody>
              <For each={liveEvents()}>{(event) => <EventRow event={event} linkToAdmin={linkToAdmin()} fresh />}</For>
              <For each={loaded()}>{(event) => <EventRow event={event} linkToAdmin={linkToAdmin()} />}</For>
            </tbody>
          </table>
        </div>
        <LoadMore list={list} />
      </Show>
    </>
  );
};
