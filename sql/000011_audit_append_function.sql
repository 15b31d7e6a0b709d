-- One round trip per audit append. Before this, an append was two round trips inside the
-- caller's transaction (take the chain lock and read the head; insert), and the lock was held
-- across both and the commit, so appends were bound by client round trips.
--
-- The chain format does not change (docs/audit-chain.md):
--   hash = SHA-256( prev_hash as ASCII hex ‖ UTF-8 of RFC 8785 canonical JSON of the event )
-- The canonical JSON has "seq" as a top-level member, and seq is only known under the lock.
-- So the writer canonicalises the event outside the lock and sends the bytes before and after
-- the seq value; this function fills in the seq (a JSON integer prints as its decimal digits,
-- the same as bigint::text) and the predecessor's hash.

-- The lock every chain writer takes; transaction-scoped, so it is held until commit and the
-- chain cannot fork across nodes. 1095058505 = 0x41554449, "AUDI".
CREATE FUNCTION audit_chain_lock() RETURNS void
LANGUAGE sql VOLATILE AS $$
  SELECT pg_advisory_xact_lock(1095058505::bigint)
$$;

CREATE FUNCTION audit_append(
  p_time timestamptz,
  p_actor_id uuid,
  p_actor_username text,
  p_action text,
  p_target_type text,
  p_target_id text,
  p_outcome text,
  p_severity text,
  p_ip text,
  p_user_agent text,
  p_model text,
  p_details jsonb,
  p_json_before_seq bytea,
  p_json_after_seq bytea,
  OUT appended_seq bigint,
  OUT appended_prev_hash text,
  OUT appended_hash text
)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM audit_chain_lock();
  -- A VOLATILE function takes a new snapshot for each statement under READ COMMITTED, so
  -- this read, made after the lock is held, sees every event committed before.
  SELECT e.seq, e.hash INTO appended_seq, appended_prev_hash
    FROM audit_event e ORDER BY e.seq DESC LIMIT 1;
  appended_seq := coalesce(appended_seq, 0) + 1;
  appended_prev_hash := coalesce(appended_prev_hash, repeat('0', 64));
  appended_hash := encode(sha256(
    convert_to(appended_prev_hash, 'UTF8') || p_json_before_seq
      || convert_to(appended_seq::text, 'UTF8') || p_json_after_seq), 'hex');
  INSERT INTO audit_event (seq, time, actor_id, actor_username, action, target_type, target_id,
                           outcome, severity, ip, user_agent, model, details, prev_hash, hash)
  VALUES (appended_seq, p_time, p_actor_id, p_actor_username, p_action, p_target_type, p_target_id,
          p_outcome, p_severity, p_ip, p_user_agent, p_model, p_details, appended_prev_hash, appended_hash);
  -- NOTIFY is transactional: listeners hear of the event only if it commits.
  PERFORM pg_notify('argus_audit', appended_seq::text);
END;
$$;
