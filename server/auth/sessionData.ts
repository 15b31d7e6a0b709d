import 'express-session';

/**
 * What a session holds: ids and times, never secrets. `stage` records how far sign-in
 * has got, so a later step (the security key) can slot in before `full`.
 */
declare module 'express-session' {
  interface SessionData {
    userId: string;
    stage: 'full';
    /** ms since epoch when this sign-in began; bounds the absolute lifetime. */
    signedInAt: number;
  }
}

export {};
