import { query } from '@solidjs/router';
import { createComputed, createContext, createResource, createSignal, onCleanup, useContext, type Component, type JSX } from 'solid-js';
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

const [signedIn, setSignedIn] = createSignal(false);

/**
 * Whether someone is known to be signed in, outside the component tree: for route preloads,
 * which run before any page (and its RequireSession) does, and must not fetch signed-in data
 * for a visitor (every such fetch answers 401). False while the first probe is in flight.
 */
export const isSignedIn = signedIn;

export const SessionProvider: Component<{ children: JSX.Element }> = (props) => {
  const [probe, { refetch, mutate }] = createResource(fetchSession);
  /**
   * True from the click on Sign out: the person is gone for every signed-in concern at once
   * (the socket closes, nothing refetches), before the server's answer, whose grant and
   * session events would otherwise send the page asking for data it may no longer read.
   */
  const [leaving, setLeaving] = createSignal(false);

  const current = (): SessionResponse | undefined => (probe.error || leaving() ? undefined : probe.latest);
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
      setLeaving(true);
      try {
        const answer = await signOutRequest();
        forget();
        // Signed in through the company's provider: sign out there too (RP-initiated logout).
        if (answer?.providerSignOutUrl) window.location.assign(answer.providerSignOutUrl);
      } finally {
        // Signed out (the probe now says so), or still signed in after a failure: the probe decides again.
        setLeaving(false);
      }
    },
  };

  createComputed(() => setSignedIn(session.user() !== null));

  return <SessionContext.Provider value={session}>{props.children}</SessionContext.Provider>;
};

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession() needs a <SessionProvider> above it');
  return session;
}
