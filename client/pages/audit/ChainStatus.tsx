import { plural } from '../../lib/plural.ts';
import { createAsync, useAction, useSubmission } from '@solidjs/router';
import { createUniqueId, Match, Show, Switch, type Component } from 'solid-js';
import type { ChainVerification } from '../../../shared/audit.ts';
import { getSigningKey, verifyAuditChain } from '../../api/audit.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Time } from '../../components/Time.tsx';
import { settled } from '../../lib/settled.ts';
import { ChainAlarmBanner, createChainAlarms, LastAcknowledgedBreak } from './ChainAlarm.tsx';
import { BREAK_REASONS } from './chainText.ts';

function summary(verification: ChainVerification): string {
  if (!verification.intact) {
    return `BROKEN at event #${verification.brokenAt} (${BREAK_REASONS[verification.reason]})`;
  }
  const head = verification.headSeq === null ? '' : `, head #${verification.headSeq}`;
  const checked = verification.checkpoints?.checked;
  const checkpoints =
    checked === undefined ? '' : `; ${plural(checked, 'signed checkpoint')} ${checked === 1 ? 'matches' : 'match'}`;
  return `Intact — ${plural(verification.checked, 'event')} checked${head}${checkpoints}`;
}

/**
 * A break the checkpoint timer found, above everything while it waits for an auditor; then the
 * chain verified on demand, the last acknowledged break, and the signing key's fingerprint for
 * checking exports offline.
 */
export const ChainStatus: Component = () => {
  const submission = useSubmission(verifyAuditChain);
  const verify = useAction(verifyAuditChain);
  const signingKey = createAsync(() => getSigningKey());
  const alarms = createChainAlarms();
  const headingId = createUniqueId();
  let heading!: HTMLHeadingElement;

  return (
    <>
      <ChainAlarmBanner alarms={alarms()} onAcknowledged={() => heading.focus()} />
      <section class="audit-chain" aria-labelledby={headingId}>
        <div class="chain-row">
          {/* Focusable from script: where the focus lands once an acknowledged break's banner is gone. */}
          <h2 id={headingId} ref={heading} tabIndex={-1}>
            Chain status
          </h2>
          {/* aria-disabled, not disabled: a disabled button would drop the keyboard focus to <body>. */}
          <button type="button" class="primary" aria-disabled={submission.pending} onClick={() => !submission.pending && void settled(verify())}>
            Verify chain
          </button>
          <p
            data-testid="chain-status"
            role="status"
            aria-busy={Boolean(submission.pending)}
            class="chain-status"
            classList={{
              intact: submission.result?.intact === true,
              broken: submission.result?.intact === false,
            }}
          >
            <Switch fallback="Not verified yet.">
              <Match when={submission.pending}>Verifying…</Match>
              <Match when={submission.result}>{(verification) => summary(verification())}</Match>
              <Match when={submission.error}>Verification failed.</Match>
            </Switch>
          </p>
        </div>
        <Show when={submission.result?.checkpoints?.latest}>
          {(latest) => (
            <p class="muted chain-checkpoint">
              Latest signed checkpoint: event #{latest().seq} at <Time value={latest().time} />.
            </p>
          )}
        </Show>
        <LastAcknowledgedBreak alarms={alarms()} />
        <ErrorAlert error={submission.error} />
        <Show when={signingKey()}>
          {(key) => (
            <details class="signing-key">
              <summary>
                Signing key (Ed25519) SHA-256 fingerprint <code data-testid="signing-key-fingerprint">{key().fingerprint}</code>
              </summary>
              <p class="muted">
                Export manifests and checkpoints are signed with this key. Check exports offline with{' '}
                <code>npm run audit:verify -- export manifest.json --key argus-audit-signing-key.pub.pem</code>.
              </p>
              <pre class="details">{key().publicKeyPem}</pre>
              <a href="/api/audit/signing-key.pem" download="argus-audit-signing-key.pub.pem">
                Download public key (PEM)
              </a>
            </details>
          )}
        </Show>
      </section>
    </>
  );
};
