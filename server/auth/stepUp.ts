import type { Request } from 'express';
import type { Config } from '../config.ts';

/**
 * Until when this session's last fresh assertion allows sensitive changes, or null: those
 * need a WebAuthn assertion made in this session within the last STEP_UP_MINUTES.
 */
export function stepUpValidUntil(req: Request, config: Config): Date | null {
  const at = req.session.stepUpAt;
  if (at === undefined) return null;
  const until = new Date(at + config.webauthn.stepUpMinutes * 60_000);
  return until.getTime() > Date.now() ? until : null;
}
