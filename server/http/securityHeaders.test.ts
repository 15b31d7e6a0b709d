import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../test/harness.ts';
import { CONTENT_SECURITY_POLICY, PERMISSIONS_POLICY } from './securityHeaders.ts';

describe('security headers', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node.destroy();
  });

  it('are on API answers, errors included', async () => {
    for (const path of ['/api/session', '/api/no-such-route', '/healthz']) {
      const response = await fetch(node.url + path);
      expect(response.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('permissions-policy')).toBe(PERMISSIONS_POLICY);
      // Served over plain http here: HSTS would be meaningless and is not sent.
      expect(response.headers.get('strict-transport-security')).toBeNull();
    }
  });

  it('allow no inline script, no eval, no inline style and no framing', () => {
    const directives = new Map(CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('style-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-(inline|eval)/);
  });

  it('allow WebHID and WebAuthn for this origin only, and name no feature a browser does not know', () => {
    const allowlists = new Map(PERMISSIONS_POLICY.split(', ').map((d) => [d.split('=')[0]!, d.split('=')[1]]));
    expect(allowlists.get('hid')).toBe('(self)');
    expect(allowlists.get('publickey-credentials-get')).toBe('(self)');
    expect(allowlists.get('publickey-credentials-create')).toBe('(self)');
    // Everything else named is off everywhere.
    const others = [...allowlists].filter(([feature]) => !['hid', 'publickey-credentials-get', 'publickey-credentials-create'].includes(feature));
    expect(others.length).toBeGreaterThan(0);
    for (const [feature, allowlist] of others) expect(allowlist, feature).toBe('()');
    // Chromium logs "Unrecognized feature" for these on every page (e2e fails on console errors).
    for (const unknown of ['bluetooth', 'interest-cohort']) expect(allowlists.has(unknown), unknown).toBe(false);
  });

  it('send HSTS when the origin is https', async () => {
    const secure = await startTestNode({ ARGUS_ORIGIN: 'https://argus.test' });
    try {
      const response = await fetch(`${secure.url}/healthz`);
      expect(response.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    } finally {
      await secure.destroy();
    }
  });
});
