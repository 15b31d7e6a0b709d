import { query } from '@solidjs/router';
import { createContext, createResource, onCleanup, useContext, type Component, type JSX } from 'solid-js';
import type { PublicUser, SessionResponse } from '../shared/api.ts';
import { onSessionLost, type ApiError } from './api/http.ts';
import { fetchSession, signOut as signOutRequest } from './api/session.ts';

export interface Session {
  /** The signed-in user, or null when signed out (or not known yet). */
  user: () => PublicUser | null;
  /** When the server will end this session if nothing renews it. */
  expiresAt: () => string | null;
  /** True while the session probe is in flight, the first time and on every refresh. */
  loading: () => boolean;
  /** Why the probe failed, when the server could not be asked. */
  error: () => ApiError | undefined;
  refresh: () => Promise<void>;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<Session>();

export const SessionProvider: Component<{ children: JSX.Element }> = (props) => {
  const [probe, { refetch, mutate }] = createResource(fetchSession);

  const current = (): SessionResponse | undefined => (probe.error ? undefined : probe.latest);
  const forget = () => {
    // Cached answers belong to the user who just left; none may show to the next one.
    query.clear();
    mutate({ signedIn: false });
  };
  onCleanup(onSessionLost(forget));

  const session: Session = {
    user: () => {
      const state = current();
      return state?.signedIn ? state.user : null;
    },
    expiresAt: () => {
      const state = current();
      return state?.signedIn ? state.expiresAt : null;
    },
    loading: () => probe.loading,
    error: () => probe.error as ApiError | undefined,
    refresh: async () => {
      await refetch();
    },
    signOut: async () => {
      await signOutRequest();
      forget();
    },
  };

  return <SessionContext.Provider value={session}>{props.children}</SessionContext.Provider>;
};

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession() needs a <SessionProvider> above it');
  return session;
}
