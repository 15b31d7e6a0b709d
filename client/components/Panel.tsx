import { createUniqueId, type Component, type JSX } from 'solid-js';
import { DataBoundary } from './DataBoundary.tsx';

/**
 * A titled section of a page, named by its heading. The heading can take the focus: when a
 * row goes (revoked, deleted) with the focus in it, `focusHeading` gives the focus somewhere
 * to land.
 */
export const Panel: Component<{ title: string; children: (focusHeading: () => void) => JSX.Element }> = (props) => {
  const headingId = createUniqueId();
  let heading!: HTMLHeadingElement;
  const content = props.children(() => heading.focus());

  return (
    <section class="panel" aria-labelledby={headingId}>
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        {props.title}
      </h2>
      {content}
    </section>
  );
};

/**
 * A Panel whose content loads: under the heading, "Loading…", the failure and "Try again"
 * (DataBoundary), or the content. `queryKey` names the queries the content reads.
 */
export const DataPanel: Component<{ title: string; queryKey: string; children: (focusHeading: () => void) => JSX.Element }> = (props) => (
  <Panel title={props.title}>
    {(focusHeading) => <DataBoundary queryKey={props.queryKey}>{props.children(focusHeading)}</DataBoundary>}
  </Panel>
);
