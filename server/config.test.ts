import express from 'express';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

const base = { SESSION_SECRET: 'x'.repeat(32), ARGUS_DATA_DIR: '/tmp/argus-config-test' };

describe('loadConfig', () => {
  it('has working defaults for a local start', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      origin: 'http://localhost:8080',
      rpId: 'localhost',
      port: 8080,
      databaseUrl: null,
      redisUrl: null,
      secureCookies: false,
      session: { idleMinutes: 30, maxHours: 12, cacheSeconds: 10 },
      rateLimits: { signinPerMinutePerIp: 10 },
    });
  });

  it('names every bad variable', () => {
    expect(() => loadConfig({ ...base, PORT: 'eighty', DATABASE_URL: 'mysql://x' })).toThrow(ConfigError);
    try {
      loadConfig({ ...base, PORT: 'eighty', DATABASE_URL: 'mysql://x' });
    } catch (error) {
      expect((error as Error).message).toMatch(/PORT: must be a whole number/);
      expect((error as Error).message).toMatch(/DATABASE_URL: must be a postgres/);
    }
  });

  it('requires a session secret in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', ARGUS_ORIGIN: 'https://argus.example.com' })).toThrow(/SESSION_SECRET/);
  });

  it('uses secure cookies behind https and checks the RP ID against the origin', () => {
    const config = loadConfig({ ...base, ARGUS_ORIGIN: 'https://chat.argus.example.com', ARGUS_RP_ID: 'argus.example.com' });
    expect(config.secureCookies).toBe(true);
    expect(config.rpId).toBe('argus.example.com');
    expect(() => loadConfig({ ...base, ARGUS_ORIGIN: 'https://argus.example.com', ARGUS_RP_ID: 'evil.example' })).toThrow(/ARGUS_RP_ID/);
  });

  it('names TRUST_PROXY when Express could not use its value, and accepts every form it can', () => {
    for (const bad of ['nginx', '10.0.0.1/33', '10.0.0.1,', 'loopback, 300.1.1.1', '::1/129', '10.0.0.0/8/1']) {
      expect(() => loadConfig({ ...base, TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY/);
    }
    const app = express();
    for (const good of ['1', 'loopback', '10.0.0.10', '10.0.0.0/8, loopback', '10.0.0.0/255.0.0.0', 'fd00::/8,uniquelocal,linklocal', '::1']) {
      const { trustProxy } = loadConfig({ ...base, TRUST_PROXY: good });
      expect(() => app.set('trust proxy', trustProxy), good).not.toThrow();
    }
  });
});
