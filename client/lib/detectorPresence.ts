/**
 * What the user's paired detectors see, as the server reports it: which are online and the
 * FIDO keys they see. Like WebHID, it only describes presence: the server ends grants on a
 * detector's detach by itself, and the UI locks on the GRANT_REVOKED that follows.
 */
import { revalidate } from '@solidjs/router';
import { createEffect, createSignal, on, onCleanup } from 'solid-js';
import type { DetectedKey, DetectorListResponse } from '../../shared/detector.ts';
import { listMyDetectors } from '../api/detectors.ts';
import { request } from '../api/http.ts';
import type { Events } from '../events.tsx';

export interface OnlineDetector {
  id: string;
  name: string;
  keys: DetectedKey[];
}

export interface DetectorPresence {
  /** The user's detectors that are online now. */
  online: () => OnlineDetector[];
  /** FIDO keys any online detector sees. */
  keys: () => DetectedKey[];
}

export function createDetectorPresence(events: Events, userId: () => string | undefined): DetectorPresence {
  const [online, setOnline] = createSignal<OnlineDetector[]>([]);
  /** Bumped by every event, so an older list answer does not overwrite a newer event. */
  let version = 0;

  async function refresh() {
    if (!userId()) return;
    const asked = version;
    try {
      const { detectors } = await request<DetectorListResponse>('GET', '/api/detectors');
      if (asked !== version || !userId()) return;
      setOnline(detectors.filter((d) => d.online).map((d) => ({ id: d.id, name: d.name, keys: d.keys })));
    } catch {
      // Keep what the events said; the next reconnect asks again.
    }
  }

  onCleanup(
    events.subscribe('DETECTOR_STATUS', (event) => {
      version += 1;
      const others = online().filter((d) => d.id !== event.detectorId);
      setOnline(event.status === 'online' ? [...others, { id: event.detectorId, name: event.name, keys: event.keys }] : others);
      // The account page's list, if it is open; never once signed out (it would only answer 401).
      if (userId()) void revalidate(listMyDetectors.key);
    }),
  );
  onCleanup(events.onConnect(() => void refresh()));
  createEffect(
    on(userId, (id) => {
      version += 1;
      setOnline([]);
      if (id) void refresh();
    }),
  );

  return {
    online,
    keys: () => online().flatMap((d) => d.keys),
  };
}
