import type { NextFunction, Request, Response } from 'express';

/**
 * The Content-Security-Policy for the SPA and the API. The Vite build emits only external
 * module scripts and stylesheets, so no inline script, no eval and no inline style is ever
 * allowed: markup that slipped past the Markdown sanitiser still could not run or restyle.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  // 'self' covers the same-origin WebSocket (/ws) in CSP Level 3 browsers.
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/**
 * Powerful features: WebHID and WebAuthn for this origin only, the rest off. Name only
 * features Chromium knows: it reports every other one ("Unrecognized feature: 'bluetooth'")
 * in the console of every page. Web Bluetooth is not a policy-controlled feature, and FLoC
 * (`interest-cohort`) is gone from browsers, so neither is listed.
 */
export const PERMISSIONS_POLICY = [
  'hid=(self)',
  'publickey-credentials-get=(self)',
  'publickey-credentials-create=(self)',
  'usb=()',
  'serial=()',
  'camera=()',
  'microphone=()',
  'geolocation=()',
  'payment=()',
].join(', ');

/**
 * Headers on every response, API and SPA alike. HSTS only when Argus is served over HTTPS.
 * `viteDev`: Vite's dev server injects imported CSS as <style> elements, so development (only)
 * allows inline styles.
 */
export function securityHeaders({ https, viteDev = false }: { https: boolean; viteDev?: boolean }) {
  const csp = viteDev ? CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'") : CONTENT_SECURITY_POLICY;
  // Built once: every response sets the same pairs.
  const headers: ReadonlyArray<readonly [string, string]> = [
    ['Content-Security-Policy', csp],
    ['Permissions-Policy', PERMISSIONS_POLICY],
    ['X-Content-Type-Options', 'nosniff'],
    // Enrollment links carry a secret in the path: it must never leave as a referrer.
    ['Referrer-Policy', 'no-referrer'],
    ['X-Frame-Options', 'DENY'],
    ['Cross-Origin-Opener-Policy', 'same-origin'],
    ['Cross-Origin-Resource-Policy', 'same-origin'],
    ...(https ? [['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'] as const] : []),
  ];
  return (_req: Request, res: Response, next: NextFunction) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}
