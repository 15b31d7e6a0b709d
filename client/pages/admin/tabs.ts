import type { RoutePreloadFunc } from '@solidjs/router';
import type { Component } from 'solid-js';
import { KeysTab, preloadKeys } from './KeysTab.tsx';
import { preloadUsers, UsersTab } from './UsersTab.tsx';
import { LiveTab, route as liveRoute } from './LiveTab.tsx';
import { ModelsTab, route as modelsRoute } from './ModelsTab.tsx';
import { OverviewTab, route as overviewRoute } from './OverviewTab.tsx';
import { DetectorsTab } from './DetectorsTab.tsx';
import { ApprovalsTab, route as approvalsRoute } from './ApprovalsTab.tsx';

/** One tab of the admin console: a route under /admin and its link in the console's tab bar. */
export interface AdminTab {
  /** Under /admin, without slashes: `users` is /admin/users. */
  path: string;
  title: string;
  component: Component;
  preload?: RoutePreloadFunc;
}

/**
 * The admin console's tabs, in the order they are shown; the first opens at /admin. App.tsx
 * makes a route of each, so a new tab is one line here.
 */
export const ADMIN_TABS: readonly AdminTab[] = [
  { path: 'users', title: 'Users', component: UsersTab, preload: preloadUsers },
  { path: 'keys', title: 'Security keys', component: KeysTab, preload: preloadKeys },
  { path: 'models', title: 'Models', component: ModelsTab, preload: modelsRoute.preload },
  { path: 'live', title: 'Live', component: LiveTab, preload: liveRoute.preload },
  { path: 'approvals', title: 'Approvals', component: ApprovalsTab, preload: approvalsRoute.preload },
  { path: 'overview', title: 'Overview', component: OverviewTab, preload: overviewRoute.preload },
  { path: 'detectors', title: 'Detectors', component: DetectorsTab },
];
