import { For, type Component } from 'solid-js';
import { listAllDetectors, revokeAnyDetector } from '../../api/detectors.ts';
import { ConfirmDialog, createConfirmation } from '../../components/ConfirmDialog.tsx';
import { DataBoundary } from '../../components/DataBoundary.tsx';
import { DataTable } from '../../components/DataTable.tsx';
import { LoadMore } from '../../components/LoadMore.tsx';
import { Panel } from '../../components/Panel.tsx';
import { createCursorPages } from '../../lib/cursorPages.ts';
import { DetectorRow, detectorHeadings } from '../account/DetectorRow.tsx';

const AllDetectors: Component<{ confirm: ReturnType<typeof createConfirmation>['confirm']; onRevoked: () => void }> = (props) => {
  const list = createCursorPages((after) => listAllDetectors(after), 'id');
  const detectors = () => list.pages()?.flatMap((page) => page.detectors) ?? [];
  return (
    <DataTable columns={detectorHeadings(true)} count={detectors().length} empty="No detectors paired" footer={<LoadMore list={list} />}>
      <For each={detectors()}>
        {(detector) => <DetectorRow detector={detector} showOwner={true} revoke={revokeAnyDetector} confirm={props.confirm} onRevoked={props.onRevoked} />}
      </For>
    </DataTable>
  );
};

/** The admin console's detectors: every paired detector, online or not, and when last seen; any can be revoked. */
export const DetectorsTab: Component = () => {
  const confirmation = createConfirmation();
  return (
    <Panel title="Detectors">
      {(focusHeading) => (
        <>
          <DataBoundary queryKey={listAllDetectors.key}>
            <AllDetectors confirm={confirmation.confirm} onRevoked={focusHeading} />
          </DataBoundary>
          <ConfirmDialog request={confirmation.request()} onClose={confirmation.answer} />
        </>
      )}
    </Panel>
  );
};
