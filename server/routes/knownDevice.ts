import type { Request, Response } from 'express';
import { cookieFromHeader, DEVICE_COOKIE, deviceCookieAfterSignIn, deviceCookieOptions } from '../auth/deviceCookie.ts';
import { completeSignIn } from '../auth/sessionUser.ts';
import type { Deps } from '../deps.ts';

/**
 * Completes a sign-in that went through the password and a key at this browser (a sign-in, or
 * the end of an enrollment): the session as `completeSignIn` makes it, and the browser becomes
 * a known device for `username`, with a failure budget of its own at the password step
 * (server/auth/signInThrottle.ts), under a new nonce. The cookie is set only once both are done.
 */
export async function completeSignInOnKnownDevice(
  { req, res, deps }: { req: Request; res: Response; deps: Deps },
  { username, ...signIn }: { username: string } & Parameters<typeof completeSignIn>[1],
): Promise<void> {
  const device = deviceCookieAfterSignIn({ secrets: deps.config.sessionSecrets, cookie: cookieFromHeader(req.headers.cookie, DEVICE_COOKIE), username });
  await Promise.all([device.previousNonce ? deps.signInThrottle.forgetDevice(username, device.previousNonce) : undefined, completeSignIn(req, signIn)]);
  res.cookie(DEVICE_COOKIE, device.value, deviceCookieOptions(deps.config.secureCookies));
}
