import { action, json, query } from '@solidjs/router';
import type {
  EnrollmentInfo,
  ResumeEnrollmentRequest,
  SetPasswordRequest,
  StepResponse,
} from '../../shared/api.ts';
import { request } from './http.ts';
import { registrationCeremony } from './keyCeremonies.ts';

const enrollmentPath = (token: string) => `/api/enrollment/${encodeURIComponent(token)}`;

/** GET /api/enrollment/:token */
export const getEnrollment = query(
  (token: string) => request<EnrollmentInfo>('GET', enrollmentPath(token)),
  'enrollment',
);

// Re-reading the link after a step would only show steps this page has already moved past;
// the page follows the step answers instead, so no action revalidates.

/** POST /api/enrollment/:token/password */
export const setEnrollmentPassword = action(async (token: string, password: string) => {
  const body: SetPasswordRequest = { password };
  const step = await request<StepResponse>('POST', `${enrollmentPath(token)}/password`, { body });
  return json(step, { revalidate: [] });
}, 'setEnrollmentPassword');

/** POST /api/enrollment/:token/resume: confirms the password chosen earlier in another visit. */
export const resumeEnrollment = action(async (token: string, password: string) => {
  const body: ResumeEnrollmentRequest = { password };
  const step = await request<StepResponse>('POST', `${enrollmentPath(token)}/resume`, { body });
  return json(step, { revalidate: [] });
}, 'resumeEnrollment');

/** POST /api/enrollment/:token/key/options, a touch of the new key, POST /api/enrollment/:token/key. */
export const registerEnrollmentKey = action(async (token: string, nickname: string) => {
  const step = await registrationCeremony<StepResponse>(`${enrollmentPath(token)}/key`, nickname);
  return json(step, { revalidate: [] });
}, 'registerEnrollmentKey');
