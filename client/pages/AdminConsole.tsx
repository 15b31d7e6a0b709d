import { A, Navigate, type RouteSectionProps } from '@solidjs/router';
import { For, type Component } from 'solid-js';
import { PageTitle } from '../components/PageTitle.tsx';
import { ADMIN_TABS } from './admin/tabs.ts';

/** The admin console's frame: its title, a link per tab, and the open tab below. */
export const AdminConsole: Component<RouteSectionProps> = (props) => (
  <>
    <PageTitle>Admin console</PageTitle>
    <nav class="tabs" aria-label="Admin console">
      <ul>
        <For each={ADMIN_TABS}>
          {(tab) => (
            <li>
              <A href={`/admin/${tab.path}`}>{tab.title}</A>
            </li>
          )}
        </For>
      </ul>
    </nav>
    <div class="admin-console">{props.children}</div>
  </>
);

/** /admin itself opens the first tab. */
export const AdminHome: Component = () => <Navigate href={`/admin/${ADMIN_TABS[0]!.path}`} />;
