/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';

// The SPA lives in client/ and is built to dist/client, which the Express server serves.
// In development (`npm run dev`) the API server mounts Vite as middleware instead, so the
// SPA, the API and the WebSocket share one origin just as in production.
export default defineConfig({
  root: 'client',
  // Under vitest the tests are Node code (server, and client logic without a DOM); the Solid
  // plugin would switch module resolution to browser builds (ws, for one, has a stub there).
  plugins: process.env.VITEST ? [] : [solid()],
  build: {
    outDir: '../dist/client',
    emptyOutDir: true,
    // Inline scripts would need 'unsafe-inline' in the CSP; keep every asset a file.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  test: {
    root: '.',
    include: ['server/**/*.test.ts', 'shared/**/*.test.ts', 'client/**/*.test.ts'],
    globalSetup: ['server/test/globalSetup.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
    environment: 'node',
  },
});
