import { HttpError } from '../http/errors.ts';

/** 409 CONFLICT: a change of this kind already waits for a second admin for the same target. */
export function alreadyWaiting(): HttpError {
  return new HttpError(409, 'CONFLICT', 'A change of this kind already waits for a second admin’s approval. Approve, reject or cancel it first (Admin console › Approvals).');
}
