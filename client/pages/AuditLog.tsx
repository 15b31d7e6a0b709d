import type { RouteDefinition } from '@solidjs/router';
import { createUniqueId, type Component } from 'solid-js';
import { listAuditEvents } from '../api/audit.ts';
import { DataBoundary } from '../components/DataBoundary.tsx';
import { PageTitle } from '../components/PageTitle.tsx';
import { ChainStatus } from './audit/ChainStatus.tsx';
import { EventTable } from './audit/EventTable.tsx';

export const route = {
  preload: () => listAuditEvents(null),
} satisfies RouteDefinition;

export const AuditLog: Component = () => {
  const eventsHeadingId = createUniqueId();

  return (
    <>
      <PageTitle>Audit log</PageTitle>
      <ChainStatus />
      <section class="panel" aria-labelledby={eventsHeadingId}>
        <h2 id={eventsHeadingId}>Events</h2>
        <p class="muted">Newest first. Select an event to see everything recorded with it.</p>
        <DataBoundary queryKey={listAuditEvents.key}>
          <EventTable />
        </DataBoundary>
      </section>
    </>
  );
};
