import { Dialog } from '@kobalte/core/dialog';
import { A } from '@solidjs/router';
import { Show, type Component, type JSX } from 'solid-js';
import { Badge } from '../../components/Badge.tsx';
import { actionLabel } from '../../../shared/auditLabels.ts';
import { exactTime } from '../../lib/relativeTime.ts';
import { OUTCOME_LABELS, targetTypeText, type ShownAuditEvent } from './eventText.ts';
import { GrantProof, namesGrant } from './GrantProof.tsx';

/** Where the admin console shows a target; auditors have no console, so they see plain ids. */
const ADMIN_PAGES: Partial<Record<string, (id: string) => string>> = {
  user: (id) => `/admin/users?q=${encodeURIComponent(id)}`,
  key: (id) => `/admin/keys?key=${encodeURIComponent(id)}`,
  security_key: (id) => `/admin/keys?key=${encodeURIComponent(id)}`,
};

/** An id: a link into the admin console for admins, plain text otherwise. */
const Id: Component<{ type: string | null; id: string; linked: boolean }> = (props) => {
  const href = () => (props.linked && props.type ? ADMIN_PAGES[props.type]?.(props.id) : undefined);
  return (
    <Show when={href()} fallback={<code class="id">{props.id}</code>}>
      {(link) => (
        <A href={link()}>
          <code class="id">{props.id}</code>
        </A>
      )}
    </Show>
  );
};

const Fact: Component<{ term: string; children: JSX.Element }> = (props) => (
  <>
    <dt>{props.term}</dt>
    <dd>{props.children}</dd>
  </>
);

const None = () => <span class="muted">—</span>;

/**
 * Everything recorded with one event, in a drawer on the right (the whole screen on a phone).
 * Escape or the close button shut it, and the focus goes back to the event's row.
 */
export const EventDrawer: Component<{
  event: ShownAuditEvent | null;
  linkToAdmin: boolean;
  onClose: () => void;
  /** Where the focus goes when the drawer shuts: the row it was opened from. */
  returnFocus: (seq: number) => void;
}> = (props) => {
  let lastSeq = 0;

  return (
    <Dialog open={props.event !== null} onOpenChange={(open) => !open && props.onClose()}>
      <Dialog.Portal>
        <Dialog.Overlay class="audit-drawer-overlay" />
        <Dialog.Content
          class="audit-drawer"
          onCloseAutoFocus={(event) => {
            event.preventDefault();
            props.returnFocus(lastSeq);
          }}
        >
          <Show when={props.event}>
            {(event) => {
              lastSeq = event().seq;
              return (
                <>
                  <div class="audit-drawer-head">
                    <div>
                      <p class="audit-drawer-kicker muted">Event #{event().seq}</p>
                      <Dialog.Title class="audit-drawer-title">{actionLabel(event().action)}</Dialog.Title>
                    </div>
                    <Dialog.CloseButton class="quiet audit-drawer-close" aria-label="Close event details">
                      ✕
                    </Dialog.CloseButton>
                  </div>
                  <Dialog.Description class="audit-drawer-summary">
                    <Badge kind="severity" value={event().severity} />{' '}
                    <span class={`outcome outcome-${event().outcome}`}>{OUTCOME_LABELS[event().outcome]}</span>{' '}
                    <span class="muted">{exactTime(event().time)}</span>
                  </Dialog.Description>
                  <dl class="audit-facts">
                    <Fact term="Sequence">#{event().seq}</Fact>
                    <Fact term="Time">
                      {exactTime(event().time)}
                      <br />
                      <code>{event().time}</code>
                    </Fact>
                    <Fact term="Actor">
                      <Show when={event().actorId} fallback={<span class="muted">system (no signed-in user)</span>}>
                        {(id) => (
                          <>
                            {event().actorUsername ?? <span class="muted">unknown</span>}
                            <br />
                            <Id type="user" id={id()} linked={props.linkToAdmin} />
                          </>
                        )}
                      </Show>
                    </Fact>
                    <Fact term="Action">
                      {actionLabel(event().action)}
                      <br />
                      <code>{event().action}</code>
                    </Fact>
                    <Fact term="Target">
                      <Show when={event().targetType || event().targetId} fallback={<None />}>
                        <Show when={event().targetType}>{(type) => <span class="target-type">{targetTypeText(type())}</span>}</Show>{' '}
                        {event().targetName ?? ''}
                        <Show when={event().targetId}>
                          {(id) => (
                            <>
                              <br />
                              <Id type={event().targetType} id={id()} linked={props.linkToAdmin} />
                            </>
                          )}
                        </Show>
                      </Show>
                    </Fact>
                    <Fact term="Outcome">{OUTCOME_LABELS[event().outcome]}</Fact>
                    <Fact term="Severity">
                      <Badge kind="severity" value={event().severity} />
                    </Fact>
                    <Fact term="IP">{event().ip ?? <None />}</Fact>
                    <Fact term="User agent">{event().userAgent ?? <None />}</Fact>
                    <Fact term="Model">{event().model ?? <None />}</Fact>
                    <Show when={namesGrant(event())}>
                      <Fact term="Presence">
                        <GrantProof seq={event().seq} />
                      </Fact>
                    </Show>
                    <Fact term="Previous hash">
                      <code class="hash">{event().prevHash}</code>
                    </Fact>
                    <Fact term="Hash">
                      <code class="hash">{event().hash}</code>
                    </Fact>
                  </dl>
                  <h3 class="audit-drawer-subhead">Details</h3>
                  {/* Text, never markup: details hold whatever a client sent. */}
                  <pre class="details" tabIndex={0} aria-label="Details as JSON">
                    {JSON.stringify(event().details, null, 2)}
                  </pre>
                  <nav class="audit-drawer-links" aria-label="Related events">
                    <Show when={event().actorId ?? event().actorUsername}>
                      {(actor) => (
                        <A href={`/audit?actor=${encodeURIComponent(actor())}`} onClick={() => props.onClose()}>
                          Events by this actor
                        </A>
                      )}
                    </Show>
                    <Show when={event().targetId}>
                      {(target) => (
                        <A href={`/audit?target=${encodeURIComponent(target())}`} onClick={() => props.onClose()}>
                          Events about this target
                        </A>
                      )}
                    </Show>
                  </nav>
                </>
              );
            }}
          </Show>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog>
  );
};
