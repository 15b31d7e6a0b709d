import type { EnrollmentLink } from '../../../shared/api.ts';

/** A fresh enrollment link and whom it is for, until the admin has copied it. */
export interface IssuedLink {
  username: string;
  link: EnrollmentLink;
}
