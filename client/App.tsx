import { Route, Router, type RoutePreloadFunc } from '@solidjs/router';
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
import { isSignedIn, SessionProvider } from './session.tsx';

/** A signed-in page's preload, skipped for a visitor: RequireSession sends them to sign in instead. */
function whenSignedIn(preload: RoutePreloadFunc | undefined): RoutePreloadFunc | undefined {
  return preload && ((args) => (isSignedIn() ? preload(args) : undefined));
}

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
            <Route path="/chat/:id?" component={Chat} preload={whenSignedIn(chatRoute.preload)} />
            <Route path="/account" component={Account} preload={whenSignedIn(accountRoute.preload)} />
            <Route path="/admin" component={AdminConsole}>
              <Route path="/" component={AdminHome} />
              {ADMIN_TABS.map((tab) => (
                <Route path={`/${tab.path}`} component={tab.component} preload={whenSignedIn(tab.preload)} />
              ))}
            </Route>
            <Route path="/audit" component={AuditLog} preload={whenSignedIn(auditRoute.preload)} />
          </Route>
          <Route path="*" component={NotFound} />
        </Router>
      </ModelAccessProvider>
    </EventsProvider>
  </SessionProvider>
);
