import { createAsync } from '@solidjs/router';
import { ErrorBoundary, Show, Suspense, type Component } from 'solid-js';
import type { GrantProofResponse } from '../../../shared/audit.ts';
import { getGrantProof } from '../../api/audit.ts';
import { describeError } from '../../components/ErrorAlert.tsx';
import type { ShownAuditEvent } from './eventText.ts';

const GRANT_ACTIONS = new Set(['grant.issued', 'grant.renewed']);

/** Whether an event has a grant behind it to prove: a grant event, or a restricted use or grant end that names its grant. */
export function namesGrant(event: ShownAuditEvent): boolean {
  return GRANT_ACTIONS.has(event.action) || typeof event.details.grantId === 'string';
}

/** A credential id (base64url, often 40+ characters) cut to a recognisable start; whole on hover. */
const shortCredential = (id: string) => (id.length > 16 ? `${id.slice(0, 16)}…` : id);

/** The grant event the proof was read from, when it is another event than the one shown. */
const viaGrantEvent = (answer: GrantProofResponse, seq: number) =>
  answer.grantSeq !== null && answer.grantSeq !== seq ? ` (grant event #${answer.grantSeq})` : '';

/**
 * Whether the grant behind an event was signed by its owner's own key: Argus re-checks the
 * recorded assertion against the public key of the credential's registration event, as an
 * offline verifier would (docs/presence-proofs.md). Checked when the drawer opens.
 */
export const GrantProof: Component<{ seq: number }> = (props) => {
  const answer = createAsync(() => getGrantProof(props.seq));
  return (
    <ErrorBoundary fallback={(error) => <span class="proof proof-unknown">Proof could not be checked: {describeError(error)}</span>}>
      <Suspense
        fallback={
          <span class="muted" role="status" aria-busy="true">
            Checking the proof…
          </span>
        }
      >
        <Show when={answer()} keyed>
          {(shown) =>
            shown.proof.verified ? (
              <>
                <span class="proof proof-verified" data-testid="grant-proof">
                  Proof: verified
                </span>
                <br />
                <span class="muted">
                  Signed by key{' '}
                  <code class="id" title={shown.proof.credentialId}>
                    {shortCredential(shown.proof.credentialId)}
                  </code>
                  {viaGrantEvent(shown, props.seq)}
                </span>
              </>
            ) : (
              <span class="proof proof-failed" data-testid="grant-proof">
                Proof: NOT verified — {shown.proof.reason}
                {viaGrantEvent(shown, props.seq)}
              </span>
            )
          }
        </Show>
      </Suspense>
    </ErrorBoundary>
  );
};
