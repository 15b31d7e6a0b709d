-- Audit search indexes and signed checkpoints of the chain head. See docs/audit-chain.md.

-- Every search lists newest first by seq with one or more equality filters; an index on
-- (column, seq) serves "WHERE column = $1 AND seq < $cursor ORDER BY seq DESC LIMIT n".
-- (actor_id, seq) and (action, seq) exist since 000001.
CREATE INDEX audit_event_actor_username ON audit_event (lower(actor_username), seq);
CREATE INDEX audit_event_target ON audit_event (target_id, seq);
CREATE INDEX audit_event_severity ON audit_event (severity, seq);
CREATE INDEX audit_event_outcome ON audit_event (outcome, seq);
CREATE INDEX audit_event_model ON audit_event (model, seq) WHERE model IS NOT NULL;
-- Time ranges resolve to seq ranges through this one (seq grows with time).
CREATE INDEX audit_event_time_seq ON audit_event (time, seq);
DROP INDEX audit_event_time;

-- A signed statement "the chain head was (seq, hash) at time", written by one node at a
-- fixed interval. Append-only like the events it vouches for.
CREATE TABLE audit_checkpoint (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  seq              bigint NOT NULL CHECK (seq > 0),
  hash             text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  time             timestamptz NOT NULL,
  -- SHA-256 (hex) of the signing public key's SPKI DER encoding.
  key_fingerprint  text NOT NULL CHECK (key_fingerprint ~ '^[0-9a-f]{64}$'),
  -- Ed25519 signature (base64) over the checkpoint's canonical JSON.
  signature        text NOT NULL
);

CREATE INDEX audit_checkpoint_seq ON audit_checkpoint (seq);

CREATE FUNCTION audit_checkpoint_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_checkpoint is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'P0001';
END;
$$;

CREATE TRIGGER audit_checkpoint_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_checkpoint
  FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_append_only();

CREATE TRIGGER audit_checkpoint_no_truncate
  BEFORE TRUNCATE ON audit_checkpoint
  FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoint_append_only();
