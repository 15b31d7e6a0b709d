import { createUniqueId, For, Show, type Component } from 'solid-js';
import { listAllDetectors, revokeAnyDetector } from '../../api/detectors.ts';
import { ConfirmDialog, createConfirmation } from '../../components/ConfirmDialog.tsx';
import { DataBoundary } from '../../components/DataBoundary.tsx';
import { LoadMore } from '../../components/LoadMore.tsx';
import { createCursorPages } from '../../lib/cursorPages.ts';
import { DetectorRow, DetectorTableHead } from '../account/DetectorRow.tsx';

const AllDetectors: Component<{ confirm: ReturnType<typeof createConfirmation>['confirm']; onRevoked: () => void }> = (props) => {
  const list = createCursorPages((after) => listAllDetectors(after), 'id');
  const detectors = () => list.pages()?.flatMap((page) => page.detectors) ?? [];
  return (
    <Show when={detectors().length > 0} fallback={<p class="empty">No detectors paired</p>}>
      <div class="table-wrap">
        <table>
          <DetectorTableHead showOwner={true} />
          <tbody>
            <For each={detectors()}>
              {(detector) => <DetectorRow detector={detector} showOwner={true} revoke={revokeAnyDetector} confirm={props.confirm} onRevoked={props.onRevoked} />}
            </For>
          </tbody>
        </table>
      </div>
      <LoadMore list={list} />
    </Show>
  );
};

/** The admin console's detectors: every paired detector, online or not, and when last seen; any can be revoked. */
export const DetectorsTab: Component = () => {
  const confirmation = createConfirmation();
  const headingId = createUniqueId();
  let heading!: HTMLHeadingElement;
  return (
    <section class="panel" aria-labelledby={headingId}>
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        Detectors
      </h2>
      <DataBoundary queryKey={listAllDetectors.key}>
        <AllDetectors confirm={confirmation.confirm} onRevoked={() => heading.focus()} />
      </DataBoundary>
      <ConfirmDialog request={confirmation.request()} onClose={confirmation.answer} />
    </section>
  );
};
