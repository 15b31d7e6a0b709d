import { createAsync, revalidate, type RouteDefinition } from '@solidjs/router';
import { createUniqueId, For, onCleanup, Show, type Component } from 'solid-js';
import type { GrantEndReason, OverviewHour, OverviewResponse } from '../../../shared/api.ts';
import { fetchOverview } from '../../api/adminOverview.ts';
import { DataBoundary } from '../../components/DataBoundary.tsx';
import { DataKeysPanel } from './overview/DataKeysPanel.tsx';
import { HourlyChart } from './overview/HourlyChart.tsx';
import { REVOKED_BECAUSE } from './overview/revokedBecause.ts';
import { SetupChecklist } from './SetupChecklist.tsx';

export const route = {
  preload: () => fetchOverview(),
} satisfies RouteDefinition;

const total = (hours: OverviewHour[], key: Exclude<keyof OverviewHour, 'hour'>) => hours.reduce((sum, hour) => sum + hour[key], 0);

const Stats: Component<{ overview: OverviewResponse }> = (props) => {
  const stats = () => [
    ['Active users', props.overview.current.activeUsers],
    ['Signed in now', props.overview.current.liveSessions],
    ['Restricted access now', props.overview.current.liveGrants],
    ['Enabled models', props.overview.current.enabledModels],
    ['Sign-ins (24 h)', total(props.overview.hours, 'signIns')],
    ['Failed sign-ins (24 h)', total(props.overview.hours, 'signInFailures')],
    ['Grants issued (24 h)', total(props.overview.hours, 'grantsIssued')],
    ['Grants revoked (24 h)', total(props.overview.hours, 'grantsRevoked')],
    ['Denials (24 h)', total(props.overview.hours, 'denials')],
    ['Key mismatches (24 h)', total(props.overview.hours, 'mismatches')],
  ] as const;
  return (
    <dl class="stat-cards">
      <For each={stats()}>
        {([label, value]) => (
          <div>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        )}
      </For>
    </dl>
  );
};

const RevokedByReason: Component<{ counts: OverviewResponse['revokedByReason'] }> = (props) => {
  const rows = () =>
    (Object.entries(props.counts) as Array<[GrantEndReason, number]>).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const max = () => Math.max(1, ...rows().map(([, n]) => n));
  return (
    <Show when={rows().length > 0} fallback={<p class="empty">No grants were revoked</p>}>
      <ul class="reasons">
        <For each={rows()}>
          {([reason, count]) => (
            <li>
              <span>{REVOKED_BECAUSE[reason] ?? reason}</span>
              <span class="bar" style={{ width: `${(count / max()) * 100}%` }} aria-hidden="true" />
              <span>{count}</span>
            </li>
          )}
        </For>
      </ul>
    </Show>
  );
};

const OverviewBody: Component = () => {
  const overview = createAsync(() => fetchOverview());
  const chartsHeadingId = createUniqueId();
  const reasonsHeadingId = createUniqueId();
  return (
    <Show when={overview()}>
      {(o) => (
        <>
          <SetupChecklist />
          <Stats overview={o()} />
          <section class="panel" aria-labelledby={chartsHeadingId}>
            <h2 id={chartsHeadingId}>Last 24 hours, hour by hour</h2>
            <div class="charts">
              <HourlyChart title="Sign-ins" hours={o().hours} series={[{ key: 'signIns', label: 'Signed in' }, { key: 'signInFailures', label: 'Failed' }]} />
              <HourlyChart title="Grants" hours={o().hours} series={[{ key: 'grantsIssued', label: 'Issued' }, { key: 'grantsRevoked', label: 'Revoked' }]} />
              <HourlyChart title="Denials" hours={o().hours} series={[{ key: 'denials', label: 'Denied unlocks' }]} />
              <HourlyChart title="Key mismatches" hours={o().hours} series={[{ key: 'mismatches', label: 'Mismatches' }]} />
            </div>
          </section>
          <section class="panel" aria-labelledby={reasonsHeadingId}>
            <h2 id={reasonsHeadingId}>Why grants were revoked</h2>
            <RevokedByReason counts={o().revokedByReason} />
          </section>
          <DataKeysPanel />
        </>
      )}
    </Show>
  );
};

/** The counts move on by themselves: fetch them again this often while the page is open. */
const REFRESH_MS = 60_000;

/** Admin console: the last day at a glance, from the audit log. */
export const OverviewTab: Component = () => {
  const timer = setInterval(() => void revalidate(fetchOverview.key), REFRESH_MS);
  onCleanup(() => clearInterval(timer));
  return (
    <>
      <DataBoundary queryKey={fetchOverview.key}>
        <OverviewBody />
      </DataBoundary>
    </>
  );
};
