import { createContext, createEffect, createSignal, on, onCleanup, useContext, type Component, type JSX } from 'solid-js';
import type { ServerEvent, ServerEventType } from '../shared/events.ts';
import { openEventStream, type ConnectionState } from './api/events.ts';
import { ApiError, reportSessionLost } from './api/http.ts';
import { fetchSession } from './api/session.ts';
import { useSession } from './session.tsx';

export type EventOf<K extends ServerEventType> = Extract<ServerEvent, { type: K }>;

export interface Events {
  /** The socket's state; 'closed' while signed out. */
  state: () => ConnectionState;
  /** Calls `listener` with every event of `type`. Returns the function that unsubscribes. */
  subscribe: <K extends ServerEventType>(type: K, listener: (event: EventOf<K>) => void) => () => void;
  /** Calls `listener` on every (re)connect, when anything pushed meanwhile may have been missed. */
  onConnect: (listener: () => void) => () => void;
}

const EventsContext = createContext<Events>();

const SESSION_ENDED = () =>
  new ApiError({ code: 'SESSION_ENDED', status: 401, message: 'Your session ended. Sign in again.' });

/** One WebSocket per signed-in tab, opened at sign-in and closed at sign-out. */
export const EventsProvider: Component<{ children: JSX.Element }> = (props) => {
  const session = useSession();
  const [state, setState] = createSignal<ConnectionState>('closed');
  const listeners = new Map<ServerEventType, Set<(event: ServerEvent) => void>>();
  const connectListeners = new Set<() => void>();

  function dispatch(event: ServerEvent) {
    if (event.type === 'SESSION_ENDED') {
      // The same path as a 401 from any request: forget the user, back to sign-in.
      reportSessionLost(SESSION_ENDED());
      return;
    }
    // A late event of a socket closing at sign-out: nobody signed in may act on it.
    if (!session.user()) return;
    for (const listener of listeners.get(event.type) ?? []) listener(event);
  }

  createEffect(
    on(
      () => session.user()?.id,
      (userId) => {
        if (!userId) return;
        const stream = openEventStream({
          onEvent: dispatch,
          onOpen: () => {
            // Listeners refetch signed-in data: not for a socket that opened as the person left.
            if (session.user()?.id !== userId) return;
            for (const listener of connectListeners) listener();
          },
          onState: setState,
          onSessionEnded: () => reportSessionLost(SESSION_ENDED()),
          // Refused or down? Ask: a session that ended quietly stops the retries and goes to sign-in.
          onAttemptFailed: () => {
            if (session.user()?.id !== userId) return;
            fetchSession().then(
              (answer) => {
                if (!answer.signedIn) reportSessionLost(SESSION_ENDED());
              },
              () => undefined,
            );
          },
        });
        onCleanup(() => stream.close());
      },
    ),
  );

  const events: Events = {
    state,
    subscribe: (type, listener) => {
      let set = listeners.get(type);
      if (!set) listeners.set(type, (set = new Set()));
      const entry = listener as (event: ServerEvent) => void;
      set.add(entry);
      return () => set.delete(entry);
    },
    onConnect: (listener) => {
      connectListeners.add(listener);
      return () => connectListeners.delete(listener);
    },
  };

  return <EventsContext.Provider value={events}>{props.children}</EventsContext.Provider>;
};

export function useEvents(): Events {
  const events = useContext(EventsContext);
  if (!events) throw new Error('useEvents() needs an <EventsProvider> above it');
  return events;
}
