-- Attestation against FIDO metadata (issue #22, threat-model G16): what a key's registration
-- proved about its model. server/webauthn/attestationTrust.ts decides; server/keys/registerKey.ts
-- records. Keys registered before this migration were never judged: attested = false.
ALTER TABLE security_key
  -- The attestation chained to a root the model's FIDO metadata statement lists.
  ADD COLUMN attested              boolean NOT NULL DEFAULT false,
  -- The model the metadata certifies: its AAGUID (FIDO2) …
  ADD COLUMN certified_aaguid      uuid,
  -- … or, for U2F keys, the attestation key identifier the metadata lists (hex SHA-1).
  ADD COLUMN attestation_key_id    text CHECK (attestation_key_id ~ '^[0-9a-f]{40}$'),
  -- The latest certification status the metadata reported at registration (FIDO_CERTIFIED_L1 …).
  ADD COLUMN certification_level   text CHECK (certification_level ~ '^[A-Z0-9_a-z]{1,64}$'),
  -- The compromise report (STATUS@effectiveDate) a metadata load suspended the key for. An admin
  -- who reactivates the key accepts that report: later loads leave the key be until another comes.
  ADD COLUMN compromise_report     text CHECK (length(compromise_report) <= 100),
  ADD CONSTRAINT security_key_attested_names_model
    CHECK (NOT attested OR certified_aaguid IS NOT NULL OR attestation_key_id IS NOT NULL);

-- A metadata reload suspends the keys of models reported compromised: found by AAGUID, or by
-- attestation key identifier for U2F keys.
CREATE INDEX security_key_aaguid ON security_key (aaguid);
CREATE INDEX security_key_attestation_key_id ON security_key (attestation_key_id) WHERE attestation_key_id IS NOT NULL;
