import { useSearchParams, type RouteDefinition } from '@solidjs/router';
import { createMemo, createSignal, createUniqueId, Show, type Component } from 'solid-js';
import { listAuditEvents } from '../api/audit.ts';
import { DataBoundary } from '../components/DataBoundary.tsx';
import { PageTitle } from '../components/PageTitle.tsx';
import { AuditFilterBar } from './audit/AuditFilterBar.tsx';
import { ChainStatus } from './audit/ChainStatus.tsx';
import { EventTable } from './audit/EventTable.tsx';
import { ExportPanel } from './audit/ExportPanel.tsx';
import { FILTER_NAMES, sameSearch, searchFrom } from './audit/filters.ts';
import { SinkStatus } from './audit/SinkStatus.tsx';

export const route = {
  preload: ({ location }) => listAuditEvents(searchFrom(Object.fromEntries(new URLSearchParams(location.search))), null),
} satisfies RouteDefinition;

export const AuditLog: Component = () => {
  const eventsHeadingId = createUniqueId();
  // The search lives in the URL, so a filtered view can be bookmarked and shared.
  const [params, setParams] = useSearchParams();
  const search = createMemo(() => searchFrom(params), {}, { equals: sameSearch });
  const [live, setLive] = createSignal(true);

  return (
    <div class="audit-page">
      <PageTitle>Audit log</PageTitle>
      <ChainStatus />
      <section class="audit-events" aria-labelledby={eventsHeadingId}>
        <h2 id={eventsHeadingId} class="visually-hidden">
          Events
        </h2>
        <AuditFilterBar
          search={search()}
          onSearch={(next) => setParams(Object.fromEntries(FILTER_NAMES.map((name) => [name, next[name] ?? undefined])))}
        />
        <DataBoundary queryKey={listAuditEvents.key}>
          {/* A new search makes a new list: paging starts again from the first page. */}
          <Show when={search()} keyed>
            {(current) => <EventTable search={current} live={live()} onLiveChange={setLive} />}
          </Show>
        </DataBoundary>
      </section>
      <ExportPanel search={search()} />
      <SinkStatus />
    </div>
  );
};
