import type { Request } from 'express';
import type { Config } from '../config.ts';
import { HttpError } from '../http/errors.ts';

/** Until when this session's last fresh assertion allows sensitive changes, or null. */
export function stepUpValidUntil(req: Request, config: Config): Date | null {
  const at = req.session.stepUpAt;
  if (at === undefined) return null;
  const until = new Date(at + config.webauthn.stepUpMinutes * 60_000);
  return until.getTime() > Date.now() ? until : null;
}

/** Sensitive changes need a WebAuthn assertion made in this session within the last few minutes. */
export function requireStepUp(req: Request, config: Config): void {
  if (!stepUpValidUntil(req, config)) {
    throw new HttpError(403, 'STEP_UP_REQUIRED', 'Touch your security key to confirm this change.');
  }
}
