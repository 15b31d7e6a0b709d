/**
 * `npm run audit:verify -- --presence`: the presence check over a JSON Lines export or any
 * stream of events, and its report in words. Imports nothing that talks to Postgres
 * (databaseEvents.ts reads the database).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AuditEventView } from '../../../shared/audit.ts';
import { printable } from '../verifyExport.ts';
import { PresenceVerifier, type PresenceOptions, type PresenceProblem, type PresenceReport } from './presenceVerifier.ts';

/** Runs the presence check over events in ascending seq. */
export async function verifyPresence(events: AsyncIterable<AuditEventView> | Iterable<AuditEventView>, options: PresenceOptions = {}): Promise<PresenceReport> {
  const verifier = new PresenceVerifier(options);
  for await (const event of events) verifier.push(event);
  return verifier.report();
}

function isEvent(value: unknown): value is AuditEventView {
  const e = value as Record<string, unknown> | null;
  return typeof e === 'object' && e !== null && Number.isSafeInteger(e.seq) && typeof e.action === 'string' && typeof e.time === 'string' && typeof e.details === 'object' && e.details !== null;
}

/**
 * The events of a JSON Lines export, line by line. A line that is not an event is skipped: the
 * chain check (verifyExport) reports it, and an event missing from the proof's view can only
 * make a proof fail, never pass.
 */
export async function* exportedEvents(exportPath: string): AsyncGenerator<AuditEventView> {
  for await (const line of createInterface({ input: createReadStream(exportPath), crlfDelay: Infinity })) {
    if (line === '') continue;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      continue;
    }
    if (isEvent(event)) yield event;
  }
}

const plural = (count: number, noun: string) => `${count.toLocaleString('en')} ${noun}${count === 1 ? '' : 's'}`;

/** One line per problem: where, what, and which grant or credential. */
export function describePresenceProblem(problem: PresenceProblem): string {
  const about = [problem.grantId && `grant ${printable(problem.grantId)}`, problem.credentialId && `credential ${printable(problem.credentialId)}`, problem.detail && printable(problem.detail)]
    .filter(Boolean)
    .join('; ');
  return `#${problem.seq} ${printable(problem.action)}: ${problem.reason}${about ? ` (${about})` : ''}`;
}

/** The report for the command line: summary lines, then one FAIL line per problem (stderr). */
export function describePresence(report: PresenceReport): { summary: string[]; failures: string[] } {
  const range = report.firstSeq === null ? 'no events' : `events #${report.firstSeq}…#${report.lastSeq} (${plural(report.events, 'event')})`;
  const { grants, uses, assertions, renewals } = report;
  const summary = [
    `Presence proofs over ${range}:`,
    `  grants proven: ${grants.proven.toLocaleString('en')} of ${grants.total.toLocaleString('en')}`,
    `  restricted uses proven: ${uses.proven.toLocaleString('en')} of ${uses.total.toLocaleString('en')}` +
      (uses.onClaimedRenewal > 0 ? `; ${plural(uses.onClaimedRenewal, 'more use')} inside a renewal only the server claims (not a proof)` : ''),
    `  sign-in and step-up assertions verified: ${assertions.verified.toLocaleString('en')} of ${assertions.total.toLocaleString('en')}`,
    `  renewals: ${renewals.byAssertion} by a fresh assertion (${renewals.byAssertionProven} proven), ${renewals.claimed} claimed by the server (detector presence: counted, not proven)`,
  ];
  const failures = report.problems.map((problem) => `FAIL: ${describePresenceProblem(problem)}`);
  if (report.problems.length > 0) {
    const byReason = new Map<string, number>();
    for (const { reason } of report.problems) byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
    const counts = [...byReason].map(([reason, count]) => `${reason} ${count}`).join(', ');
    failures.push(`FAIL: presence: ${plural(report.problems.length, 'problem')} (${counts}).`);
    const unprovenUses = report.unprovenUses;
    if (unprovenUses.length > 0) failures.push(`FAIL: presence: ${plural(unprovenUses.length, 'restricted use')} unproven: ${unprovenUses.map((seq) => `#${seq}`).join(', ')}.`);
  } else {
    summary.push('OK: every grant is proven by its owner’s key, and every restricted use by a proven grant.');
  }
  return { summary, failures };
}

