import 'express-session';

/**
 * What a session holds: ids and times, never secrets. `stage` records how far sign-in
 * has got, so a later step (the security key) can slot in before `full`.
 */
declare module 'express-session' {
  interface SessionData {
    userId: string;
    /**
     * 'needs_key': the password was right, the security key is still to come;
     * 'enrolling': an enrollment link's password step is done, its key step is not;
     * 'first_key': company sign-in (OIDC) is done for a user with no key yet, who registers one now;
     * 'full': signed in. Only 'full' sessions reach anything but the key step.
     */
    stage: 'needs_key' | 'enrolling' | 'first_key' | 'full';
    /** ms since epoch when the current stage began (a pending stage expires quickly). */
    stageStartedAt: number;
    /** ms since epoch when this sign-in completed; bounds the absolute lifetime. */
    signedInAt: number;
    /** The security_key row this session signed in with. */
    keyId: string;
    /** The enrollment this session is completing (stage 'enrolling'). */
    enrollmentId: string;
    /** ms since epoch of the last fresh assertion in this session (step-up). */
    stepUpAt: number;
    ip: string;
    userAgent: string;
    /**
     * How this sign-in completed: the two sign-in steps (password or company sign-in, then the
     * key), the end of an enrollment, or a first key registered right after company sign-in.
     */
    signInMethod: 'password_and_key' | 'oidc_and_key' | 'enrollment' | 'oidc_first_key';
    /**
     * Set when the first step was company sign-in (issue #20), from the pending stage on: the
     * provider's session id (`sid`), so that its back-channel logout can name this session.
     */
    oidc: { sid: string | null };
    /** ms since epoch when a request last renewed the cookie (refreshCookieWhenDue in sessionUser.ts). */
    cookieRefreshedAt: number;
  }
}

export {};
