-- Breaks the checkpoint timer found in the audit chain (docs/audit-chain.md, "Verify before
-- signing and break alarms"). While an alarm is unacknowledged no node signs a checkpoint. An
-- auditor acknowledges it with a statement that Argus signs with the audit signing key; the
-- timer then verifies onwards from the head recorded here.
CREATE TABLE audit_chain_alarm (
  id                        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  detected_at               timestamptz NOT NULL,
  -- The first event (seq) where the chain no longer holds.
  broken_seq                bigint NOT NULL CHECK (broken_seq > 0),
  reason                    text NOT NULL CHECK (reason ~ '^[a-z_]{1,64}$'),
  -- The chain head when the break was found (null: the chain was empty).
  head_seq                  bigint CHECK (head_seq > 0),
  head_hash                 text CHECK (head_hash ~ '^[0-9a-f]{64}$'),
  acknowledged_at           timestamptz,
  -- No foreign key: a statement outlives the account of whoever made it.
  acknowledged_by           uuid,
  acknowledged_by_username  text,
  statement                 text,
  -- SHA-256 (hex) of the signing public key's SPKI DER, and the base64 Ed25519 signature of
  -- the acknowledgement's canonical JSON.
  ack_key_fingerprint       text CHECK (ack_key_fingerprint ~ '^[0-9a-f]{64}$'),
  ack_signature             text,
  CHECK ((head_seq IS NULL) = (head_hash IS NULL)),
  -- An acknowledgement is whole or absent.
  CHECK (
    (acknowledged_at IS NULL AND acknowledged_by IS NULL AND acknowledged_by_username IS NULL
      AND statement IS NULL AND ack_key_fingerprint IS NULL AND ack_signature IS NULL)
    OR (acknowledged_at IS NOT NULL AND acknowledged_by IS NOT NULL AND acknowledged_by_username IS NOT NULL
      AND statement IS NOT NULL AND ack_key_fingerprint IS NOT NULL AND ack_signature IS NOT NULL)
  )
);

-- At most one alarm waits for an acknowledgement: nodes that find the same break raise it once.
CREATE UNIQUE INDEX audit_chain_alarm_one_open ON audit_chain_alarm ((true)) WHERE acknowledged_at IS NULL;

-- An alarm is evidence: it is never deleted, and it changes once, when it is acknowledged.
CREATE FUNCTION audit_chain_alarm_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.acknowledged_at IS NULL
     AND (NEW.id, NEW.detected_at, NEW.broken_seq, NEW.reason, NEW.head_seq, NEW.head_hash)
         IS NOT DISTINCT FROM (OLD.id, OLD.detected_at, OLD.broken_seq, OLD.reason, OLD.head_seq, OLD.head_hash) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_chain_alarm: % is not allowed (an alarm is acknowledged once and never removed)', TG_OP
    USING ERRCODE = 'P0001';
END;
$$;

CREATE TRIGGER audit_chain_alarm_acknowledge_only
  BEFORE UPDATE OR DELETE ON audit_chain_alarm
  FOR EACH ROW EXECUTE FUNCTION audit_chain_alarm_guard();

CREATE TRIGGER audit_chain_alarm_no_truncate
  BEFORE TRUNCATE ON audit_chain_alarm
  FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_alarm_guard();

-- The server raises and acknowledges alarms; it never deletes one (the trigger refuses too).
GRANT SELECT, INSERT, UPDATE ON audit_chain_alarm TO argus_app;
GRANT USAGE ON SEQUENCE audit_chain_alarm_id_seq TO argus_app;
