import type { ChainAlarmReason } from '../../../shared/audit.ts';

/** Why the chain is broken, in words: for a verification's answer and for the checkpoint timer's alarms. */
export const BREAK_REASONS: Record<ChainAlarmReason, string> = {
  hash_mismatch: 'hash mismatch',
  prev_hash_mismatch: 'previous-hash mismatch',
  sequence_gap: 'sequence gap',
  checkpoint_mismatch: 'differs from a signed checkpoint: history rewritten',
  checkpoint_signature_invalid: 'a checkpoint is not signed by the Argus key',
  truncated: 'the chain ends before the latest signed checkpoint: events deleted',
  checkpoints_deleted: 'signed checkpoints were deleted from the database',
  acknowledgement_invalid: 'an acknowledgement of an earlier break is not signed by the Argus key',
};
