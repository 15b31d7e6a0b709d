import { createSignal, createUniqueId, For, Match, onCleanup, Show, Switch, type Component } from 'solid-js';
import { EXPORT_FORMATS, exportFileName, type AuditSearch, type ExportFormat } from '../../../shared/audit.ts';
import { exportAuditEvents, memoryExportSink, pickExportFile, saveFile, type ExportProgress, type ExportSink, type FinishedExport } from '../../api/audit.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';

const FORMAT_LABELS: Record<ExportFormat, string> = {
  jsonl: 'JSON Lines (verifiable chain)',
  csv: 'CSV (RFC 4180)',
  cef: 'CEF (ArcSight)',
  ocsf: 'OCSF 1.3 (JSON Lines)',
};

const numbers = new Intl.NumberFormat();

function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

type ExportState =
  | { phase: 'idle' }
  | { phase: 'running'; progress: ExportProgress }
  | { phase: 'done'; result: FinishedExport }
  | { phase: 'failed'; error: unknown };

/**
 * Exports what the current search selects: streams it with progress, saves the file, and
 * offers the signed manifest to keep beside it. The export itself is audited.
 */
export const ExportPanel: Component<{ search: AuditSearch }> = (props) => {
  const headingId = createUniqueId();
  const [format, setFormat] = createSignal<ExportFormat>('jsonl');
  const [state, setState] = createSignal<ExportState>({ phase: 'idle' });
  let controller: AbortController | null = null;
  onCleanup(() => controller?.abort());

  const start = async () => {
    controller?.abort();
    const current = new AbortController();
    controller = current;
    // Where supported, the user picks the file first and the export streams into it (constant
    // memory); elsewhere it is held in memory and offered as a download at the end.
    let sink: ExportSink;
    try {
      // Named by the dates it covers, as the server names the download.
      sink = (await pickExportFile(exportFileName({ format: format(), from: props.search.from, to: props.search.to }))) ?? memoryExportSink();
    } catch (error) {
      // Closing the picker cancels; a picker the browser refused (no gesture, a policy) falls back.
      if (error instanceof DOMException && error.name === 'AbortError') return;
      sink = memoryExportSink();
    }
    setState({ phase: 'running', progress: { events: 0, expectedEvents: 0, bytes: 0 } });
    try {
      const result = await exportAuditEvents(
        { format: format(), filter: props.search },
        { signal: current.signal, onProgress: (progress) => setState({ phase: 'running', progress }), sink },
      );
      if (result.file) saveFile(result.file, result.fileName);
      setState({ phase: 'done', result });
    } catch (error) {
      setState(current.signal.aborted ? { phase: 'idle' } : { phase: 'failed', error });
    }
  };

  const progress = () => {
    const current = state();
    return current.phase === 'running' ? current.progress : null;
  };
  const failure = () => {
    const current = state();
    return current.phase === 'failed' ? current.error : undefined;
  };
  const finished = () => {
    const current = state();
    return current.phase === 'done' ? current.result : null;
  };

  return (
    <section class="panel" aria-labelledby={headingId}>
      <h2 id={headingId}>Export</h2>
      <p class="muted">Exports every event the search above selects, oldest first. Each export is recorded in the audit log.</p>
      <form
        class="inline-form"
        aria-label="Export audit events"
        onSubmit={(event) => {
          event.preventDefault();
          void start();
        }}
      >
        <Field label="Format">
          {(control) => (
            <select {...control} name="format" onChange={(event) => setFormat(event.currentTarget.value as ExportFormat)}>
              <For each={EXPORT_FORMATS}>{(f) => <option value={f} selected={format() === f}>{FORMAT_LABELS[f]}</option>}</For>
            </select>
          )}
        </Field>
        <div class="form-actions">
          <button type="submit" class="primary" disabled={state().phase === 'running'}>
            Export
          </button>
          <Show when={state().phase === 'running'}>
            <button type="button" onClick={() => controller?.abort()}>
              Cancel export
            </button>
          </Show>
        </div>
      </form>
      <div role="status" aria-live="polite" class="export-status" data-testid="export-status">
        <Switch>
          <Match when={progress()}>
            {(now) => (
              <>
                <progress max={Math.max(now().expectedEvents, 1)} value={now().events} aria-label="Export progress" />
                <span>
                  Exporting… {numbers.format(now().events)}
                  <Show when={now().expectedEvents > 0}> of {numbers.format(now().expectedEvents)}</Show>{' '}
                  {(now().expectedEvents || now().events) === 1 ? 'event' : 'events'}, {sizeText(now().bytes)}
                </span>
              </>
            )}
          </Match>
          <Match when={finished()}>
            {(done) => (
              <div class="export-done">
                <p>
                  Saved <code>{done().fileName}</code>: {numbers.format(done().manifest.eventCount)} {done().manifest.eventCount === 1 ? 'event' : 'events'},{' '}
                  {sizeText(done().manifest.fileBytes)}.
                </p>
                <p class="muted">
                  SHA-256 <code>{done().manifest.fileSha256}</code>
                </p>
                <button
                  type="button"
                  onClick={() =>
                    saveFile(new Blob([JSON.stringify(done().manifest, null, 2)], { type: 'application/json' }), `${done().fileName}.manifest.json`)
                  }
                >
                  Download signed manifest
                </button>
              </div>
            )}
          </Match>
        </Switch>
      </div>
      <ErrorAlert error={failure()} />
    </section>
  );
};
