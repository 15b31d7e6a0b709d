/**
 * docs/presence-proofs.md's worked example is a real recorded assertion: its events verify
 * (chain hashes, the grant's proof, the whole presence check) and the signed bytes it shows are
 * the ones the verifier checks. Edit the example and this fails.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AssertionRecord, AuditEventView } from '../../../shared/audit.ts';
import { eventHash, GENESIS_HASH } from '../chain.ts';
import { assertionBytes, signedBytes } from './checkAssertion.ts';
import { PresenceVerifier } from './presenceVerifier.ts';
import { verifyGrantEvent } from './verifyGrant.ts';

const doc = readFileSync(new URL('../../../docs/presence-proofs.md', import.meta.url), 'utf8');

/** The fenced block right after `<!-- presence-example: name -->`. */
function block(name: string): string {
  const match = new RegExp(`<!-- presence-example: ${name} -->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
  if (!match) throw new Error(`docs/presence-proofs.md has no example block "${name}"`);
  return match[1]!;
}

const registration = JSON.parse(block('registration')) as AuditEventView;
const grant = JSON.parse(block('grant')) as AuditEventView;

describe('the worked example in docs/presence-proofs.md', () => {
  it('is two real chained events', () => {
    expect(registration.prevHash).toBe(GENESIS_HASH);
    expect(eventHash(registration.prevHash, registration)).toBe(registration.hash);
    expect(grant.prevHash).toBe(registration.hash);
    expect(eventHash(grant.prevHash, grant)).toBe(grant.hash);
  });

  it('shows the bytes the key signed', () => {
    const bytes = assertionBytes(grant.details.assertion as AssertionRecord)!;
    expect(signedBytes(bytes).toString('hex')).toBe(block('signed-bytes').replace(/\s+/g, ''));
  });

  it('proves its grant, and a use under it', () => {
    expect(verifyGrantEvent({ grant, registration })).toEqual({ verified: true, credentialId: (registration.details.credential as { id: string }).id });
    const verifier = new PresenceVerifier();
    verifier.push(registration);
    verifier.push(grant);
    const useTime = new Date(Date.parse(grant.time) + 60_000).toISOString();
    verifier.push({ ...grant, seq: 3, time: useTime, action: 'model.access', model: 'restricted-demo', details: { grantId: grant.targetId } });
    expect(verifier.report()).toMatchObject({ ok: true, grants: { total: 1, proven: 1 }, uses: { total: 1, proven: 1 } });
  });

  it('fails once a byte of the signature changes', () => {
    const assertion = grant.details.assertion as AssertionRecord;
    const signature = Buffer.from(assertion.signature, 'base64url');
    signature[10]! ^= 0x01;
    const forged = { ...grant, details: { ...grant.details, assertion: { ...assertion, signature: signature.toString('base64url') } } };
    expect(verifyGrantEvent({ grant: forged, registration })).toEqual({ verified: false, reason: 'signature_invalid' });
  });
});
