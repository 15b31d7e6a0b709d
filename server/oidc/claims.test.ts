import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { displayNameFromClaims, groupsFromClaims, roleFromGroups, sanitizeUsername, usernameFromClaims } from './claims.ts';

describe('usernames from claims', () => {
  it('fits a claim to the username rule, or gives up', () => {
    expect(sanitizeUsername('alice')).toBe('alice');
    expect(sanitizeUsername('alice@example.com')).toBe('alice_example.com');
    expect(sanitizeUsername('Jörg Müller')).toBe('Jorg_Muller');
    expect(sanitizeUsername('..hidden')).toBe('hidden');
    expect(sanitizeUsername('x'.repeat(100))).toHaveLength(63);
    expect(sanitizeUsername('@')).toBeNull();
    expect(sanitizeUsername('a')).toBeNull();
  });

  it('takes the first configured claim that holds a string; an email only when verified', () => {
    const claims = ['preferred_username', 'email'];
    expect(usernameFromClaims({ preferred_username: 'bob', email: 'x@y.z', email_verified: true }, claims)).toEqual({ ok: true, username: 'bob', claim: 'preferred_username' });
    expect(usernameFromClaims({ email: 'eve@example.com', email_verified: true }, claims)).toEqual({ ok: true, username: 'eve_example.com', claim: 'email' });
    // An address nobody verified must not name an account (it could name someone else's).
    expect(usernameFromClaims({ email: 'eve@example.com' }, claims)).toEqual({ ok: false, reason: 'username_missing' });
    expect(usernameFromClaims({ email: 'eve@example.com', email_verified: 'true' }, claims)).toEqual({ ok: false, reason: 'username_missing' });
    expect(usernameFromClaims({ preferred_username: '@' }, claims)).toEqual({ ok: false, reason: 'username_invalid' });
    expect(usernameFromClaims({ upn: 'carol' }, ['upn'])).toEqual({ ok: true, username: 'carol', claim: 'upn' });
  });

  it('reads display names and groups defensively', () => {
    expect(displayNameFromClaims({ name: 'Ann\u0007 Lee' }, 'ann')).toBe('Ann Lee');
    expect(displayNameFromClaims({ given_name: 'Ann', family_name: 'Lee' }, 'ann')).toBe('Ann Lee');
    expect(displayNameFromClaims({}, 'ann')).toBe('ann');
    expect(groupsFromClaims({ groups: ['a', 1, 'b'] }, 'groups')).toEqual(['a', 'b']);
    expect(groupsFromClaims({ roles: 'admins' }, 'roles')).toEqual(['admins']);
    expect(groupsFromClaims({ groups: { a: 1 } }, 'groups')).toEqual([]);
  });
});

describe('roles from groups', () => {
  const config = { adminGroups: ['argus-admins'], auditorGroups: ['argus-auditors'] };
  it('admin beats auditor beats user', () => {
    expect(roleFromGroups(['x', 'argus-auditors', 'argus-admins'], config)).toBe('admin');
    expect(roleFromGroups(['argus-auditors'], config)).toBe('auditor');
    expect(roleFromGroups([], config)).toBe('user');
  });
  it('manages no role when no group is configured', () => {
    expect(roleFromGroups(['argus-admins'], { adminGroups: [], auditorGroups: [] })).toBeNull();
  });
});

describe('OIDC configuration', () => {
  const base = { NODE_ENV: 'test', ARGUS_DATA_DIR: '/tmp/argus-config-test', SESSION_SECRET: 'x'.repeat(32) };
  const oidc = { OIDC_ISSUER: 'https://idp.example.com/realms/acme', OIDC_CLIENT_ID: 'argus', OIDC_CLIENT_SECRET: 'secret' };
  const fails = (env: Record<string, string>, message: RegExp) => expect(() => loadConfig({ ...base, ...env })).toThrow(message);

  it('is off without OIDC_ISSUER, and refuses a half configuration', () => {
    expect(loadConfig(base).oidc).toBeNull();
    fails({ OIDC_CLIENT_ID: 'argus' }, /OIDC_CLIENT_ID: needs OIDC_ISSUER/);
  });

  it('reads a whole configuration with safe defaults', () => {
    const config = loadConfig({ ...base, ...oidc, ARGUS_ORIGIN: 'https://argus.example.com', OIDC_ADMIN_GROUPS: 'a, b' }).oidc!;
    expect(config).toMatchObject({
      issuer: 'https://idp.example.com/realms/acme',
      redirectUri: 'https://argus.example.com/api/auth/oidc/callback',
      scopes: ['openid', 'profile', 'email'],
      usernameClaims: ['preferred_username', 'email'],
      groupsClaim: 'groups',
      adminGroups: ['a', 'b'],
      auditorGroups: [],
      provisioning: 'existing',
      firstKey: 'approval',
      postLogoutRedirect: null,
      linkAllowanceHours: 72,
    });
  });

  it('bounds how long an admin\'s allowance to link stays usable: 1 hour to 14 days', () => {
    expect(loadConfig({ ...base, ...oidc, OIDC_LINK_ALLOWANCE_HOURS: '1' }).oidc?.linkAllowanceHours).toBe(1);
    expect(loadConfig({ ...base, ...oidc, OIDC_LINK_ALLOWANCE_HOURS: '336' }).oidc?.linkAllowanceHours).toBe(336);
    for (const hours of ['0', '337', '1.5', 'forever']) fails({ ...oidc, OIDC_LINK_ALLOWANCE_HOURS: hours }, /OIDC_LINK_ALLOWANCE_HOURS/);
  });

  it('refuses what would be unsafe or cannot work', () => {
    expect(() => loadConfig({ ...base, ...oidc, OIDC_ISSUER: 'http://idp.example.com' })).toThrow(ConfigError);
    fails({ ...oidc, OIDC_ISSUER: 'http://idp.example.com' }, /must be an https:\/\/ URL/);
    expect(loadConfig({ ...base, ...oidc, OIDC_ISSUER: 'http://127.0.0.1:9000' }).oidc?.issuer).toBe('http://127.0.0.1:9000');
    fails({ OIDC_ISSUER: oidc.OIDC_ISSUER, OIDC_CLIENT_ID: 'argus' }, /OIDC_CLIENT_SECRET: required/);
    fails({ ...oidc, OIDC_SCOPES: 'profile email' }, /must include openid/);
    fails({ ...oidc, OIDC_ADMIN_GROUPS: 'x', OIDC_AUDITOR_GROUPS: 'x' }, /is an admin group too/);
    fails({ ...oidc, OIDC_PROVISIONING: 'everyone' }, /OIDC_PROVISIONING/);
    fails({ ...oidc, OIDC_CLIENT_SECRET_FILE: '/nonexistent/secret' }, /OIDC_CLIENT_SECRET: set it or OIDC_CLIENT_SECRET_FILE/);
  });
});
