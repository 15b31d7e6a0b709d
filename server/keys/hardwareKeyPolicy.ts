import type { Config } from '../config.ts';
import type { KeyRow } from '../db/keys.ts';

export type RestrictedUnlockRefusal = 'not_attested' | 'aaguid_not_allowed';

/**
 * Whether a hardware key (synced passkeys are refused before this) may unlock restricted
 * models: under an attestation policy only an attested key may (threat-model G16), and the
 * AAGUID allow-list then counts the AAGUID its FIDO metadata certified, never the one a key
 * merely claims (a software authenticator can claim any). With ATTESTATION_POLICY=off the
 * allow-list reads the claimed AAGUID, as it always did. One predicate for the unlock and for
 * the options that offer keys to it.
 */
export function restrictedUnlockRefusal(
  config: Pick<Config, 'attestation' | 'grants'>,
  key: Pick<KeyRow, 'aaguid' | 'attested' | 'certified_aaguid'>,
): RestrictedUnlockRefusal | null {
  const attestationRequired = config.attestation.policy !== 'off';
  if (attestationRequired && !key.attested) return 'not_attested';
  const allowList = config.grants.aaguidAllowList;
  const aaguid = attestationRequired ? key.certified_aaguid : key.aaguid;
  if (allowList && (aaguid === null || !allowList.includes(aaguid.toLowerCase()))) return 'aaguid_not_allowed';
  return null;
}
