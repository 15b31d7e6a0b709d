import { Route, Router } from '@solidjs/router';
import type { Component } from 'solid-js';
import { Layout } from './components/Layout.tsx';
import { RequireSession } from './components/RequireSession.tsx';
import { EventsProvider } from './events.tsx';
import { ModelAccessProvider } from './modelAccess.tsx';
import { Account, route as accountRoute } from './pages/Account.tsx';
import { AdminConsole, AdminHome } from './pages/AdminConsole.tsx';
import { ADMIN_TABS } from './pages/admin/tabs.ts';
import { AuditLog, route as auditRoute } from './pages/AuditLog.tsx';
import { Chat, route as chatRoute } from './pages/Chat.tsx';
import { Enroll, route as enrollRoute } from './pages/Enroll.tsx';
import { Home } from './pages/Home.tsx';
import { NotFound } from './pages/NotFound.tsx';
import { SignIn } from './pages/SignIn.tsx';
import { SessionProvider } from './session.tsx';

export const App: Component = () => (
  <SessionProvider>
    {/* Signed-in concerns that outlive any one page: the WebSocket, and access to restricted models. */}
    <EventsProvider>
      <ModelAccessProvider>
        <Router root={Layout}>
          <Route path="/signin" component={SignIn} />
          <Route path="/enroll/:token" component={Enroll} preload={enrollRoute.preload} />
          <Route path="/" component={RequireSession}>
            <Route path="/" component={Home} />
            <Route path="/chat/:id?" component={Chat} preload={chatRoute.preload} />
            <Route path="/account" component={Account} preload={accountRoute.preload} />
            <Route path="/admin" component={AdminConsole}>
              <Route path="/" component={AdminHome} />
              {ADMIN_TABS.map((tab) => (
                <Route path={`/${tab.path}`} component={tab.component} preload={tab.preload} />
              ))}
            </Route>
            <Route path="/audit" component={AuditLog} preload={auditRoute.preload} />
          </Route>
          <Route path="*" component={NotFound} />
        </Router>
      </ModelAccessProvider>
    </EventsProvider>
  </SessionProvider>
);
