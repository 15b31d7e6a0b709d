import { createHash, randomBytes, randomInt } from 'node:crypto';
import {
  PAIRING_CODE_ALPHABET,
  PAIRING_CODE_LENGTH,
  PAIRING_CODE_TTL_SECONDS,
  type PairingCodeResponse,
  type PairDetectorResponse,
} from '../../shared/detector.ts';
import { recordAuditEvent, type AuditContext } from '../audit/record.ts';
import { consumePairingCode, insertDetector, insertPairingCode, pairingCodeState, type DetectorRow } from '../db/detectors.ts';
import { withTransaction } from '../db/pool.ts';
import type { UserRow } from '../db/users.ts';
import type { Deps } from '../deps.ts';

/** Upper-cases and drops the spaces and dashes a person may type; null if it cannot be a code. */
export function normalizePairingCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== PAIRING_CODE_LENGTH) return null;
  return [...code].every((c) => PAIRING_CODE_ALPHABET.includes(c)) ? code : null;
}

function hashCode(code: string): Buffer {
  return createHash('sha256').update(`argus-pairing:${code}`).digest();
}

function newCode(): string {
  let code = '';
  for (let i = 0; i < PAIRING_CODE_LENGTH; i += 1) code += PAIRING_CODE_ALPHABET[randomInt(PAIRING_CODE_ALPHABET.length)];
  return code;
}

/** A one-time code (10 minutes, single use) and the exact commands that pair a detector with it. */
export async function issuePairingCode(
  { pool, config }: Pick<Deps, 'pool' | 'config'>,
  { user, context }: { user: UserRow; context: AuditContext },
): Promise<PairingCodeResponse> {
  const code = newCode();
  const expiresAt = await withTransaction(pool, async (client) => {
    const expires = await insertPairingCode(client, { codeHash: hashCode(code), userId: user.id, ttlSeconds: PAIRING_CODE_TTL_SECONDS });
    await recordAuditEvent(client, context, {
      action: 'detector.pairing_code_issued',
      outcome: 'success',
      target: { type: 'user', id: user.id },
      details: { expiresAt: expires.toISOString() },
    });
    return expires;
  });
  return {
    code,
    expiresAt: expiresAt.toISOString(),
    commands: {
      npx: `npx argus-detector pair ${code} --server ${config.origin}`,
      checkout: `npm run detector -- pair ${code} --server ${config.origin}`,
    },
  };
}

export type PairingResult = { paired: true; detector: DetectorRow; credentials: PairDetectorResponse } | { paired: false };

/**
 * Pairs a detector with the code's user: the code is used once, and the new device key
 * (a 256-bit secret named by a non-secret key id) is stored only as its Argon2id hash.
 * A wrong, used or expired code answers the same; the audit record tells them apart.
 */
export async function pairDetector(
  { pool, hasher }: Pick<Deps, 'pool' | 'hasher'>,
  { code, name, context }: { code: string; name: string; context: AuditContext },
): Promise<PairingResult> {
  const normalized = normalizePairingCode(code);
  const codeHash = normalized ? hashCode(normalized) : null;
  const keyId = randomBytes(16).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  const paired = codeHash
    ? await withTransaction(pool, async (client) => {
        const userId = await consumePairingCode(client, codeHash);
        if (!userId) return null;
        const detector = await insertDetector(client, { userId, keyId, keyHash: await hasher.hash(secret), name });
        await recordAuditEvent(client, { ...context, actor: { id: detector.user_id, username: detector.owner_username } }, {
          action: 'detector.paired',
          outcome: 'success',
          target: { type: 'detector', id: detector.id },
          details: { name, keyId },
        });
        return detector;
      })
    : null;
  if (paired) return { paired: true, detector: paired, credentials: { detectorId: paired.id, keyId, secret } };
  const reason = codeHash ? await pairingCodeState(pool, codeHash) : 'malformed';
  await recordAuditEvent(pool, context, { action: 'detector.pairing_failed', outcome: 'denied', target: null, details: { reason } });
  return { paired: false };
}
