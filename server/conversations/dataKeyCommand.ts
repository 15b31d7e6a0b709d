import type { Config } from '../config.ts';
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../log.ts';
import { MissingKekError, dataKeyState, encryptRestrictedConversations, rewrapDataKeys } from './dataKeyJobs.ts';

/**
 * `npm run argus -- encrypt-conversations | rotate-data-key`: runs the job with progress, then
 * prints where encryption at rest stands. Exit code 0 when it is done (encrypt-conversations:
 * nothing left in plaintext and the constraint validated), 1 otherwise.
 */
export async function dataKeyCommand(
  deps: { pool: Pool; config: Config; log: Logger },
  command: 'encrypt-conversations' | 'rotate-data-key',
  out: Pick<Console, 'log' | 'error'>,
): Promise<number> {
  const verb = command === 'rotate-data-key' ? 're-wrapped' : 'encrypted';
  const onBatch = (done: number) => out.log(`  ${done} conversation${done === 1 ? '' : 's'} ${verb}…`);
  let result;
  try {
    result = command === 'rotate-data-key' ? await rewrapDataKeys(deps, { onBatch }) : await encryptRestrictedConversations(deps, { onBatch });
  } catch (error) {
    if (error instanceof MissingKekError) {
      out.error(error.message);
      return 1;
    }
    throw error;
  }
  if (!result.ran) {
    out.error('Another Argus process is running this job right now; run it again when that one has finished.');
    return 1;
  }
  out.log(`${result.done} conversation${result.done === 1 ? '' : 's'} ${verb}.`);
  const state = await dataKeyState(deps);
  out.log(`Current key-encryption key: ${state.currentKekId}`);
  for (const row of state.perKek) out.log(`  ${row.kekId}: ${row.conversations} conversation${row.conversations === 1 ? '' : 's'}${row.configured ? '' : ' (not configured!)'}`);
  out.log(`Restricted conversations still in plaintext: ${state.plaintextRestricted}`);
  out.log(
    state.encryptionConstraintValidated
      ? 'Database check conversation_restricted_is_encrypted: validated (PostgreSQL refuses any restricted conversation in plaintext).'
      : 'Database check conversation_restricted_is_encrypted: not validated yet (it is, once no restricted conversation is left in plaintext).',
  );
  if (command === 'rotate-data-key') {
    out.log(
      state.rotationComplete
        ? `Rotation complete: every data key is under "${state.currentKekId}". The other keys may now be removed from DATA_ENCRYPTION_KEYS.`
        : 'Rotation not complete: keep every listed key configured, and run rotate-data-key again.',
    );
    return state.rotationComplete ? 0 : 1;
  }
  return state.plaintextRestricted === 0 && state.encryptionConstraintValidated ? 0 : 1;
}
