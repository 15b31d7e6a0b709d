import { action, json, query } from '@solidjs/router';
import type { EnrollmentInfo, SetPasswordRequest, StepResponse } from '../../shared/api.ts';
import { request } from './http.ts';

const enrollmentPath = (token: string) => `/api/enrollment/${encodeURIComponent(token)}`;

/** GET /api/enrollment/:token */
export const getEnrollment = query(
  (token: string) => request<EnrollmentInfo>('GET', enrollmentPath(token)),
  'enrollment',
);

/** POST /api/enrollment/:token/password */
export const setEnrollmentPassword = action(async (token: string, password: string) => {
  const body: SetPasswordRequest = { password };
  const step = await request<StepResponse>('POST', `${enrollmentPath(token)}/password`, { body });
  // Re-reading the link now would only find it used; the page moves on instead.
  return json(step, { revalidate: [] });
}, 'setEnrollmentPassword');
