import type { EnrollmentLink, PendingChangeView, PendingEnrollmentLinkResponse } from '../../../shared/api.ts';

/**
 * A fresh enrollment link and whom it is for, until the admin has copied it. `waitsFor`: the
 * link works only once a second admin approves that pending change (the two-person rule).
 */
export type IssuedLink =
  | { username: string; link: EnrollmentLink; waitsFor?: undefined }
  | { username: string; link: PendingEnrollmentLinkResponse['enrollment']; waitsFor: PendingChangeView };
