/**
 * The checkpoint file's transport: every signed checkpoint appended as one JSON line
 * (records.ts checkpointLine) to a local file, for operators who ship files with their own
 * agent (Filebeat, Vector, Fluent Bit …) or copy them somewhere Argus cannot write.
 * `npm run audit:verify` reads such a file back as checkpoints received elsewhere.
 *
 * Opened with O_APPEND for each batch and flushed to disk (fsync) before the batch counts as
 * delivered: a crash after the write but before the cursor moved repeats lines (the seq tells
 * them apart) and never loses one. Opening per batch follows a file rotated away by logrotate.
 * Audit events are not written here: only checkpoints.
 */
import { open } from 'node:fs/promises';
import type { SinkRecord, SinkTransport } from './types.ts';

export function createCheckpointFileTransport({ path }: { path: string }): SinkTransport {
  return {
    async deliver(records: readonly SinkRecord[]) {
      const lines = records
        .filter((record) => record.kind === 'checkpoint')
        .map((record) => `${record.body}\n`)
        .join('');
      if (lines === '') return;
      // 'a': O_WRONLY | O_CREAT | O_APPEND — never truncates, every write lands at the end.
      const file = await open(path, 'a', 0o640);
      try {
        await file.appendFile(lines, 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
    },
    async close() {},
  };
}
