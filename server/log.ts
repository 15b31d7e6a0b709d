import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs. Anything that may hold a secret is redacted by path. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'argus', ...base },
    redact: {
      paths: ['password', '*.password', 'token', '*.token', 'cookie', '*.cookie', 'headers.cookie', 'authorization', '*.authorization'],
      censor: '[redacted]',
    },
  });
}
