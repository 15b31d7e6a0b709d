import { Dialog } from '@kobalte/core/dialog';
import { useAction } from '@solidjs/router';
import { createEffect, createSignal, createUniqueId, on, Show, type Component } from 'solid-js';
import { BREAK_STATEMENT_LENGTH, type ChainAlarm } from '../../../shared/audit.ts';
import { acknowledgeChainBreak } from '../../api/audit.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { isStoppedByUser } from '../../lib/securityKey.ts';
import { BREAK_REASONS } from './chainText.ts';

const TOO_SHORT = `Say what happened and what was done, in at least ${BREAK_STATEMENT_LENGTH.min} characters.`;

/**
 * An auditor's acknowledgement of a break: a statement, which Argus signs with the audit
 * signing key and records in the log. Sending it asks for a key touch (the step-up dialog
 * comes up over this one when the last touch is too old). Open while `alarm` is set; Escape
 * or Cancel close it without acknowledging.
 */
export const AcknowledgeBreakDialog: Component<{
  alarm: ChainAlarm | null;
  /** `acknowledged`: the break was acknowledged (its banner is gone; put the focus somewhere that stays). */
  onClose: (acknowledged: boolean) => void;
}> = (props) => {
  const acknowledge = useAction(acknowledgeChainBreak);
  const [statement, setStatement] = createSignal('');
  const [tooShort, setTooShort] = createSignal(false);
  const [error, setError] = createSignal<unknown>();
  const [pending, setPending] = createSignal(false);
  let acknowledged = false;
  let textarea!: HTMLTextAreaElement;
  const hintId = createUniqueId();
  const problemId = createUniqueId();
  const fieldId = createUniqueId();

  // Every opening starts blank: a statement is about one break.
  createEffect(
    on(
      () => props.alarm?.id,
      (id) => {
        if (id === undefined) return;
        acknowledged = false;
        setStatement('');
        setTooShort(false);
        setError(undefined);
      },
    ),
  );

  async function onSubmit(event: SubmitEvent) {
    event.preventDefault();
    const alarm = props.alarm;
    if (!alarm || pending()) return;
    const text = statement().trim();
    if (text.length < BREAK_STATEMENT_LENGTH.min) {
      setTooShort(true);
      textarea.focus();
      return;
    }
    setTooShort(false);
    setError(undefined);
    setPending(true);
    try {
      await acknowledge(alarm.id, text);
      acknowledged = true;
      props.onClose(true);
    } catch (failure) {
      // A touch the auditor stopped leaves the statement as it was: nothing to report.
      if (!isStoppedByUser(failure)) setError(failure);
    } finally {
      setPending(false);
    }
  }

  return (
    <Dialog open={props.alarm !== null} onOpenChange={(open) => !open && !pending() && props.onClose(false)} modal>
      <Dialog.Portal>
        <Dialog.Overlay class="acknowledge-overlay" />
        <div class="acknowledge-positioner">
          <Dialog.Content
            class="dialog acknowledge-dialog"
            onOpenAutoFocus={(event) => {
              event.preventDefault();
              textarea.focus();
            }}
            onCloseAutoFocus={(event) => {
              // The button that opened it went with the banner; the parent says where the focus goes.
              if (acknowledged) event.preventDefault();
            }}
          >
            <Show when={props.alarm}>
              {(alarm) => (
                <form onSubmit={(event) => void onSubmit(event)} novalidate>
                  <Dialog.Title>Acknowledge the break at event #{alarm().brokenSeq}</Dialog.Title>
                  <Dialog.Description class="muted">
                    {BREAK_REASONS[alarm().reason]}. Argus signs your statement with the audit signing key and records it in the log;
                    checkpoints are then signed again from the chain head{alarm().headSeq === null ? '' : ` #${alarm().headSeq}`}.
                  </Dialog.Description>
                  <div class="field">
                    <label for={fieldId}>Statement</label>
                    <textarea
                      ref={textarea}
                      id={fieldId}
                      name="statement"
                      rows={5}
                      maxLength={BREAK_STATEMENT_LENGTH.max}
                      required
                      aria-invalid={tooShort()}
                      aria-describedby={tooShort() ? `${problemId} ${hintId}` : hintId}
                      value={statement()}
                      onInput={(event) => {
                        setStatement(event.currentTarget.value);
                        if (tooShort() && event.currentTarget.value.trim().length >= BREAK_STATEMENT_LENGTH.min) setTooShort(false);
                      }}
                    />
                    <Show when={tooShort()}>
                      <small id={problemId} class="field-problem">
                        {TOO_SHORT}
                      </small>
                    </Show>
                    <small id={hintId} class="muted">
                      What happened, what was checked, what was done. {statement().trim().length} of at most {BREAK_STATEMENT_LENGTH.max}{' '}
                      characters; signed and recorded as written.
                    </small>
                  </div>
                  <ErrorAlert error={error()} />
                  <div class="actions">
                    <button type="button" onClick={() => !pending() && props.onClose(false)}>
                      Cancel
                    </button>
                    {/* aria-disabled, not disabled: a disabled button would drop the keyboard focus to <body>. */}
                    <button type="submit" class="danger" aria-disabled={pending()}>
                      {pending() ? 'Signing…' : 'Sign and acknowledge'}
                    </button>
                  </div>
                </form>
              )}
            </Show>
          </Dialog.Content>
        </div>
      </Dialog.Portal>
    </Dialog>
  );
};
