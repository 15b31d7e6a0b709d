import { Route, Router } from '@solidjs/router';
import type { Component } from 'solid-js';
import { Layout } from './components/Layout.tsx';
import { RequireSession } from './components/RequireSession.tsx';
import { EventsProvider } from './events.tsx';
import { ModelAccessProvider } from './modelAccess.tsx';
import { Account, route as accountRoute } from './pages/Account.tsx';
import { AdminConsole, route as adminRoute } from './pages/AdminConsole.tsx';
import { AuditLog, route as auditRoute } from './pages/AuditLog.tsx';
import { Chat, route as chatRoute } from './pages/Chat.tsx';
import { Enroll, route as enrollRoute } from './pages/Enroll.tsx';
import { Home } from './pages/Home.tsx';
import { NotFound } from './pages/NotFound.tsx';
import { SignIn } from './pages/SignIn.tsx';
import { SessionProvider } from './session.tsx';
import { LiveTab, route as liveRoute } from './pages/admin/LiveTab.tsx';
import { ModelsTab, route as modelsRoute } from './pages/admin/ModelsTab.tsx';
import { OverviewTab, route as overviewRoute } from './pages/admin/OverviewTab.tsx';

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
            <Route path="/admin" component={AdminConsole} preload={adminRoute.preload} />
            <Route path="/admin/models" component={ModelsTab} preload={modelsRoute.preload} />
            <Route path="/admin/live" component={LiveTab} preload={liveRoute.preload} />
            <Route path="/admin/overview" component={OverviewTab} preload={overviewRoute.preload} />
            <Route path="/audit" component={AuditLog} preload={auditRoute.preload} />
          </Route>
          <Route path="*" component={NotFound} />
        </Router>
      </ModelAccessProvider>
    </EventsProvider>
  </SessionProvider>
);
