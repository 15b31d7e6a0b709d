import { createAsync } from '@solidjs/router';
import { createSignal, createUniqueId, For, onMount, Show, type Component } from 'solid-js';
import type { PairingCodeResponse } from '../../../shared/detector.ts';
import { createPairingCode, listMyDetectors, revokeMyDetector } from '../../api/detectors.ts';
import type { ConfirmRequest } from '../../components/ConfirmDialog.tsx';
import { DataBoundary } from '../../components/DataBoundary.tsx';
import { DataTable } from '../../components/DataTable.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Time } from '../../components/Time.tsx';
import { isStoppedByUser } from '../../lib/securityKey.ts';
import { DetectorRow, detectorHeadings } from './DetectorRow.tsx';

/** The person's detectors: a table, stacked as cards on narrow screens like every console table. */
const DetectorList: Component<{ confirm: (request: ConfirmRequest) => Promise<boolean>; onRevoked: () => void }> = (props) => {
  const list = createAsync(() => listMyDetectors());
  return (
    <DataTable columns={detectorHeadings(false)} count={list()?.detectors.length} empty="No detectors paired">
      <For each={list()?.detectors}>
        {(detector) => <DetectorRow detector={detector} showOwner={false} revoke={revokeMyDetector} confirm={props.confirm} onRevoked={props.onRevoked} />}
      </For>
    </DataTable>
  );
};

/**
 * A fresh pairing code and the exact commands that use it, until dismissed. It replaces the
 * button that asked for it, so it takes the focus (and is read out) at once.
 */
const PairingCode: Component<{ pairing: PairingCodeResponse; onDone: () => void }> = (props) => {
  let code!: HTMLParagraphElement;
  onMount(() => code.focus());
  return (
    <div class="one-time" data-testid="pairing-code">
      <p ref={code} tabIndex={-1}>
        Your pairing code: <code class="pairing-code">{props.pairing.code}</code>
      </p>
      <p class="muted">
        Single use; it expires <Time value={props.pairing.expiresAt} />. On the computer your key is plugged into, run:
      </p>
      <pre>
        <code>{props.pairing.commands.npx}</code>
      </pre>
      <p class="muted">or, from a checkout of Argus:</p>
      <pre>
        <code>{props.pairing.commands.checkout}</code>
      </pre>
      <p class="muted">
        Then start it with <code>argus-detector run</code>. It appears below once it connects.
      </p>
      <button type="button" class="quiet" onClick={() => props.onDone()}>
        Done
      </button>
    </div>
  );
};

/**
 * The account page's detectors: pair one (a one-time code and the command to run), see
 * which are online and the keys they see, revoke them.
 */
export const DetectorsSection: Component<{ confirm: (request: ConfirmRequest) => Promise<boolean> }> = (props) => {
  const headingId = createUniqueId();
  let heading!: HTMLHeadingElement;
  const [pairing, setPairing] = createSignal<PairingCodeResponse>();
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<unknown>();

  async function pairDetector() {
    if (pending()) return;
    setPending(true);
    setError(undefined);
    try {
      setPairing(await createPairingCode());
    } catch (failure) {
      // Cancelling the step-up leaves the section as it was, with nothing to report.
      setError(isStoppedByUser(failure) ? undefined : failure);
    } finally {
      setPending(false);
    }
  }

  return (
    <section class="panel" aria-labelledby={headingId}>
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        Detectors
      </h2>
      <p class="muted">
        A detector is a small program on your computer that sees your security key (for browsers that cannot). Unplugging
        the key then locks restricted models at once. It can only take access away, never give it.
      </p>
      <DataBoundary queryKey={listMyDetectors.key}>
        <DetectorList confirm={props.confirm} onRevoked={() => heading.focus()} />
      </DataBoundary>
      <Show
        when={pairing()}
        fallback={
          // aria-disabled, not disabled: a disabled button would drop the keyboard focus to <body>.
          <button type="button" class="detector-pair" onClick={pairDetector} aria-disabled={pending()}>
            {pending() ? 'Making a code…' : 'Pair a detector'}
          </button>
        }
      >
        {(shown) => (
          <PairingCode
            pairing={shown()}
            onDone={() => {
              setPairing(undefined);
              // The code and its Done button are gone: start again at the section.
              heading.focus();
            }}
          />
        )}
      </Show>
      <ErrorAlert error={error()} />
    </section>
  );
};
