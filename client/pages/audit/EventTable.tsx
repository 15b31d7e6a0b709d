import { createSignal, createUniqueId, For, onCleanup, Show, type Component } from 'solid-js';
import type { AuditSearch } from '../../../shared/audit.ts';
import { listAuditEvents } from '../../api/audit.ts';
import { LoadMore } from '../../components/LoadMore.tsx';
import { useEvents } from '../../events.tsx';
import { createCursorPages } from '../../lib/cursorPages.ts';
import { useSession } from '../../session.tsx';
import { EventDrawer } from './EventDrawer.tsx';
import { EventRow } from './EventRow.tsx';
import { countText, type ShownAuditEvent } from './eventText.ts';
import { isAlert, matchesSearch } from './filters.ts';
import { createNow } from '../../lib/relativeTime.ts';

/** How many live events are kept above the loaded pages before the oldest drop off. */
const LIVE_LIMIT = 500;

const COLUMNS = ['Time', 'Actor', 'Action', 'Target', 'Outcome', 'Severity', 'IP', 'Seq'] as const;

/**
 * The events one search selects, page after page, with new ones from the live feed
 * (SECURITY_EVENT) on top while `live` is on; a count of them, and a drawer for the one opened.
 * Keyboard: one row is in the Tab order, the arrow keys (Home, End) move between rows, Enter
 * opens one; closing its drawer brings the focus back to it.
 */
export const EventTable: Component<{ search: AuditSearch; live: boolean; onLiveChange: (live: boolean) => void }> = (props) => {
  const session = useSession();
  const now = createNow();
  const captionId = createUniqueId();
  const list = createCursorPages((after) => listAuditEvents(props.search, after), 'seq');
  const [arrived, setArrived] = createSignal<ShownAuditEvent[]>([]);
  const [opened, setOpened] = createSignal<ShownAuditEvent | null>(null);
  const [focusedSeq, setFocusedSeq] = createSignal<number | null>(null);
  let body!: HTMLTableSectionElement;

  const loaded = () => list.pages()?.flatMap((page) => page.events) ?? [];
  const total = () => list.pages()?.[0]?.total;
  const newestLoaded = () => loaded()[0]?.seq ?? 0;
  const liveEvents = () => arrived().filter((event) => event.seq > newestLoaded());
  const events = () => [...liveEvents(), ...loaded()];
  const alerts = () => liveEvents().filter(isAlert).length;
  // The row in the Tab order: the last one focused while it is still listed, else the first.
  const tabbableSeq = () => {
    const seq = focusedSeq();
    return seq !== null && events().some((event) => event.seq === seq) ? seq : events()[0]?.seq;
  };

  onCleanup(
    useEvents().subscribe('SECURITY_EVENT', ({ event }) => {
      if (!props.live || !matchesSearch(event, props.search)) return;
      setArrived((current) => (current.some((e) => e.seq === event.seq) ? current : [event, ...current].slice(0, LIVE_LIMIT)));
    }),
  );

  const rowOf = (seq: number) => body?.querySelector<HTMLTableRowElement>(`tr.event[data-seq="${seq}"]`) ?? null;
  const moveFocus = (from: HTMLTableRowElement, key: string): HTMLTableRowElement | null => {
    const rows = [...body.querySelectorAll<HTMLTableRowElement>('tr.event')];
    const index = rows.indexOf(from);
    if (key === 'ArrowDown') return rows[index + 1] ?? null;
    if (key === 'ArrowUp') return rows[index - 1] ?? null;
    if (key === 'Home') return rows[0] ?? null;
    if (key === 'End') return rows.at(-1) ?? null;
    return null;
  };

  return (
    <>
      <div class="audit-results-bar">
        <p class="audit-count" role="status" data-testid="audit-count">
          <Show when={list.pages()}>
            <strong>{countText({ total: total(), loaded: loaded().length, morePages: list.nextCursor() !== null, live: liveEvents().length })}</strong>
          </Show>
          <Show when={liveEvents().length > 0}>
            <span class="live-count muted">
              {' · '}
              {liveEvents().length} new live
              <Show when={alerts() > 0}>, {alerts()} high or critical</Show>
            </span>
          </Show>
        </p>
        <label class="toggle">
          <input type="checkbox" checked={props.live} onChange={(event) => props.onLiveChange(event.currentTarget.checked)} /> Live tail
        </label>
      </div>
      <Show when={events().length > 0} fallback={<p class="empty">No audit events match</p>}>
        <div class="audit-table-wrap">
          {/* Roles spelled out: the stacked layout of narrow screens would otherwise cost the table its semantics. */}
          <table class="events" role="table" aria-label="Audit events" aria-describedby={captionId}>
            <thead role="rowgroup">
              <tr role="row">
                <For each={COLUMNS}>{(column) => <th scope="col" role="columnheader" class={`col-${column.toLowerCase()}`}>
                      {column}
                    </th>}</For>
              </tr>
            </thead>
            <tbody
              role="rowgroup"
              ref={body}
              onFocusIn={(event) => {
                const row = (event.target as HTMLElement).closest<HTMLTableRowElement>('tr.event');
                if (row) setFocusedSeq(Number(row.dataset.seq));
              }}
              onKeyDown={(event) => {
                const row = (event.target as HTMLElement).closest<HTMLTableRowElement>('tr.event');
                const next = row && moveFocus(row, event.key);
                if (!next) return;
                event.preventDefault();
                next.focus();
              }}
            >
              <For each={events()}>
                {(event) => (
                  <EventRow
                    event={event}
                    now={now()}
                    fresh={event.seq > newestLoaded()}
                    tabbable={event.seq === tabbableSeq()}
                    onOpen={() => setOpened(event)}
                  />
                )}
              </For>
            </tbody>
          </table>
        </div>
        <p id={captionId} class="visually-hidden">
          Enter on a row, or a click, opens everything recorded with the event. Arrow keys move between rows.
        </p>
        <LoadMore list={list} />
      </Show>
      <EventDrawer
        event={opened()}
        linkToAdmin={session.user()?.role === 'admin'}
        onClose={() => setOpened(null)}
        returnFocus={(seq) => rowOf(seq)?.focus()}
      />
    </>
  );
};
