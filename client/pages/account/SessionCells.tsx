import { Show, type Component } from 'solid-js';
import { Badge } from '../../components/Badge.tsx';
import { describeUserAgent } from '../../lib/userAgent.ts';

/** Marks the session the reader is using, after the text of the row's first cell. */
export const CurrentSessionFlag: Component<{ current: boolean }> = (props) => (
  <Show when={props.current}>
    {' '}
    <Badge kind="flag" value="current" />
  </Show>
);

/** Where a session signed in from: its IP address cell and its browser cell. */
export const SessionOriginCells: Component<{ session: { ip: string | null; userAgent: string | null } }> = (props) => (
  <>
    <td data-label="IP address">{props.session.ip ?? <span class="muted">Unknown</span>}</td>
    <td data-label="Browser" title={props.session.userAgent ?? undefined}>
      {describeUserAgent(props.session.userAgent)}
    </td>
  </>
);
