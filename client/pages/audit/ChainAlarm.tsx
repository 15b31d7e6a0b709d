import { createAsync, revalidate } from '@solidjs/router';
import { createSignal, createUniqueId, onCleanup, Show, type Component } from 'solid-js';
import type { ChainAlarm } from '../../../shared/audit.ts';
import { listChainAlarms } from '../../api/audit.ts';
import { Time } from '../../components/Time.tsx';
import { useEvents } from '../../events.tsx';
import { useSession } from '../../session.tsx';
import { AcknowledgeBreakDialog } from './AcknowledgeBreakDialog.tsx';
import { BREAK_REASONS } from './chainText.ts';

/** The alarms, kept current: a break found or acknowledged on any node arrives as a SECURITY_EVENT. */
export function createChainAlarms() {
  const alarms = createAsync(() => listChainAlarms());
  onCleanup(
    useEvents().subscribe('SECURITY_EVENT', ({ event }) => {
      if (event.action === 'audit.chain_break_detected' || event.action === 'audit.chain_break_acknowledged') void revalidate(listChainAlarms.key);
    }),
  );
  return alarms;
}

/**
 * The break the checkpoint timer found, while it waits for an auditor: what broke, where and
 * when, and that no checkpoint is signed meanwhile. Auditors acknowledge it from here; admins
 * see it too, and who may act.
 */
export const ChainAlarmBanner: Component<{ alarms: ChainAlarm[] | undefined; onAcknowledged: () => void }> = (props) => {
  const session = useSession();
  const open = () => props.alarms?.find((alarm) => alarm.acknowledgement === null);
  const [acknowledging, setAcknowledging] = createSignal<ChainAlarm | null>(null);
  const titleId = createUniqueId();

  return (
    <>
      <Show when={open()}>
        {(alarm) => (
          <section class="chain-alarm" role="alert" aria-labelledby={titleId} data-testid="chain-alarm">
            <h2 id={titleId}>Audit chain broken at event #{alarm().brokenSeq}: checkpoints stopped</h2>
            <dl class="chain-alarm-facts">
              <dt>Reason</dt>
              <dd>{BREAK_REASONS[alarm().reason]}</dd>
              <dt>Detected</dt>
              <dd>
                <Time value={alarm().detectedAt} />
              </dd>
              <dt>Chain head then</dt>
              <dd>{alarm().headSeq === null ? 'none (the chain was empty)' : `#${alarm().headSeq}`}</dd>
            </dl>
            <p>
              Argus signs no checkpoint until an auditor has looked into the break and acknowledged it with a statement, which Argus
              signs and records. Signing then resumes from the chain head above.
            </p>
            <Show
              when={session.user()?.role === 'auditor'}
              fallback={<p class="chain-alarm-who">Only an auditor can acknowledge it.</p>}
            >
              <button type="button" class="danger" onClick={() => setAcknowledging(alarm())}>
                Acknowledge break…
              </button>
            </Show>
          </section>
        )}
      </Show>
      {/* Outside the banner: an acknowledgement takes the banner away while the dialog closes. */}
      <AcknowledgeBreakDialog
        alarm={acknowledging()}
        onClose={(acknowledged) => {
          setAcknowledging(null);
          if (acknowledged) props.onAcknowledged();
        }}
      />
    </>
  );
};

/** The latest acknowledged break, when none waits: who said what about it. */
export const LastAcknowledgedBreak: Component<{ alarms: ChainAlarm[] | undefined }> = (props) => {
  const latest = () => {
    const newest = props.alarms?.[0];
    return newest?.acknowledgement ? { alarm: newest, acknowledgement: newest.acknowledgement } : undefined;
  };

  return (
    <Show when={latest()}>
      {(shown) => (
        <p class="muted chain-acknowledged" data-testid="chain-acknowledged">
          The break at event #{shown().alarm.brokenSeq} ({BREAK_REASONS[shown().alarm.reason]}) was acknowledged by{' '}
          {shown().acknowledgement.acknowledgedBy.username} on <Time value={shown().acknowledgement.acknowledgedAt} />:{' '}
          <q>{shown().acknowledgement.statement}</q>
        </p>
      )}
    </Show>
  );
};
