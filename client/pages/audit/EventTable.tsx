import { For, Show, type Component } from 'solid-js';
import { listAuditEvents } from '../../api/audit.ts';
import { createCursorPages } from '../../lib/cursorPages.ts';
import { EventRow } from './EventRow.tsx';
import { LoadMore } from '../../components/LoadMore.tsx';

export const EventTable: Component = () => {
  const list = createCursorPages((after) => listAuditEvents(after), 'seq');
  const events = () => list.pages()?.flatMap((page) => page.events) ?? [];

  return (
    <Show when={events().length > 0} fallback={<p class="empty">No audit events yet</p>}>
      <div class="table-wrap">
        <table class="events">
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
            <For each={events()}>{(event) => <EventRow event={event} />}</For>
          </tbody>
        </table>
      </div>
      <LoadMore list={list} />
    </Show>
  );
};
