import { ERROR_CODES } from '../../shared/errors.ts';
import { query } from '../db/pool.ts';
import { clearRedisPrefix } from '../test/env.ts';
import type { TestNode } from '../test/harness.ts';

/**
 * What must hold after any input, however hostile: the fuzz suites check these after every
 * request or message.
 */

/**
 * Stored data a rejected request must leave alone: a checksum of each table's rows, and the
 * number of successful audit events (a rejection may legitimately record a denied or failed one).
 * A detector's last_seen_at is left out: it moves whenever a detector disconnects, however.
 */
const CHECKSUMS = ['app_user', 'enrollment', 'security_key', 'model', 'conversation', 'message', 'detector', 'detector_pairing_code']
  .map((table) => `(SELECT md5(coalesce(string_agg((to_jsonb(t) - 'last_seen_at')::text, ',' ORDER BY t::text), '')) FROM ${table} t) AS ${table}`)
  .join(',\n');

export type DataSnapshot = Record<string, string>;

export async function snapshotData(node: TestNode): Promise<DataSnapshot> {
  // Records queued in the audit outbox (a challenge's, a grant end's) count once appended: drained
  // first, so an accepted request's record cannot land during a later rejected one's check, and a
  // rejected request that queued one is caught.
  await node.deps.auditOutbox.drain();
  const { rows } = await query<DataSnapshot>(
    node.deps.pool,
    'fuzz_snapshot',
    `SELECT ${CHECKSUMS}, (SELECT count(*)::text FROM audit_event WHERE outcome = 'success') AS audit_success`,
  );
  return rows[0]!;
}

/** A snapshot once writes in flight (after a response, e.g. a detector report) have landed. */
export async function settledSnapshot(node: TestNode): Promise<DataSnapshot> {
  let previous = await snapshotData(node);
  for (let i = 0; i < 20; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    const current = await snapshotData(node);
    if (JSON.stringify(current) === JSON.stringify(previous)) return current;
    previous = current;
  }
  return previous;
}

/** Internal detail that must never reach a client. */
const LEAKS: Array<[string, RegExp]> = [
  ['a stack frame', /\n\s+at \S|\bat (?:async )?[\w.<>]+ \(.*:\d+:\d+\)/],
  ['a file path', /(?:\/work\/|\/home\/|\/usr\/|node_modules|file:\/\/|\.ts:\d+|\.js:\d+)/],
  ['a SQL error', /(?:syntax error at or near|violates (?:unique|foreign key|check|not-null) constraint|duplicate key value|relation "[^"]*" does not exist|invalid input syntax for type|current transaction is aborted)/i],
  ['SQL text', /\b(?:SELECT|INSERT INTO|UPDATE|DELETE FROM)\b[^"]{0,80}\b(?:FROM|VALUES|SET|WHERE)\b/],
  ['a JavaScript error', /\b(?:TypeError|RangeError|ReferenceError|SyntaxError|ZodError|Cannot read propert|is not a function|Maximum call stack|Unexpected token|in JSON at position)\b/],
  ['a dependency error', /\b(?:ECONNREFUSED|ECONNRESET|ETIMEDOUT|ioredis|ReplyError|pg_)\b/],
];

/** The first internal detail found in a response body, if any. */
export function leakIn(text: string): string | null {
  for (const [what, pattern] of LEAKS) {
    const match = pattern.exec(text);
    if (match) return `${what}: ${JSON.stringify(match[0])}`;
  }
  return null;
}

/** Whether an error response has the one error shape, with a code from ERROR_CODES. */
export function isStableError(text: string): boolean {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    return typeof code?.message === 'string' && (ERROR_CODES as readonly unknown[]).includes(code.code);
  } catch {
    return false;
  }
}

/**
 * Collects what the node logs at error level or above (an unexpected exception in a route,
 * a failed socket handler): none may appear during a fuzz run. Returns a stop function.
 */
export function watchErrorLogs(node: TestNode): { errors: string[]; warnings: string[]; stop(): void } {
  const log = node.deps.log as unknown as Record<'error' | 'fatal' | 'warn', (...args: unknown[]) => void>;
  const original = { error: log.error, fatal: log.fatal, warn: log.warn };
  const errors: string[] = [];
  const warnings: string[] = [];
  const record = (level: string) => (...args: unknown[]) => {
    const [first, second] = args;
    const err = (first as { err?: unknown } | null)?.err ?? first;
    errors.push(`${level}: ${typeof second === 'string' ? second : ''} ${err instanceof Error ? (err.stack ?? err.message) : JSON.stringify(first)}`);
  };
  log.error = record('error');
  log.fatal = record('fatal');
  // Some handlers catch and log at warn (a detector report that threw): kept for the suites to check.
  log.warn = (...args: unknown[]) => warnings.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
  const onUncaught = (error: unknown) => errors.push(`uncaught: ${String((error as Error)?.stack ?? error)}`);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  return {
    errors,
    warnings,
    stop() {
      log.error = original.error;
      log.fatal = original.fatal;
      log.warn = original.warn;
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
    },
  };
}

/** Resets every rate limiter of the node, so a fuzz run keeps reaching the code behind them. */
export async function liftRateLimits(node: TestNode): Promise<void> {
  await clearRedisPrefix(`${node.redisPrefix}rl:`);
}
