import { createServer as createViteServer } from 'vite';
import { loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { startArgus } from './runtime.ts';

/**
 * `npm run dev`: the same API server, with Vite mounted as middleware so the SPA hot-reloads
 * on the very same origin as the API (no proxy, same cookies, same CSRF rules).
 */
const config = loadConfig();
const log = createLogger(config.logLevel);
const vite = await createViteServer({
  configFile: new URL('../vite.config.ts', import.meta.url).pathname,
  server: { middlewareMode: true, hmr: { port: config.port + 1 } },
  appType: 'spa',
});
const running = await startArgus(config, log, { serveClient: false, clientMiddleware: vite.middlewares });
log.info(`Argus (dev, hot reload) at ${config.origin}`);

const stop = async () => {
  await vite.close();
  await running.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
