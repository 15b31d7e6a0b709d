-- Group commit for standalone audit events (issue #24). A node queues the events that commit by
-- themselves (denials, model accesses, sign-outs…) while one append is in flight, then appends
-- the queue in one call of audit_append_many: one round trip, one lock, one commit (one WAL
-- flush) for many events. Events that record a change still go through audit_append on that
-- change's transaction (000011).
--
-- The chain format does not change (docs/audit-chain.md): each event is hashed exactly as
-- audit_append hashes it, the first on the chain head and each next on the one before it.
--
-- A call names its batch with an id of the caller's choosing, recorded (in the same transaction)
-- in audit_append_receipt. When a connection fails after the call was sent, the caller cannot
-- know whether it committed; it calls again with the same id, and this function (which takes the
-- chain lock first, so it waits for the first call's transaction to end either way) returns the
-- events that call appended instead of appending them twice. So a lost connection neither loses
-- nor duplicates events. Receipts are only needed for that retry and are kept ten minutes.
CREATE TABLE audit_append_receipt (
  batch_id    uuid PRIMARY KEY,
  first_seq   bigint NOT NULL CHECK (first_seq > 0),
  last_seq    bigint NOT NULL CHECK (last_seq >= first_seq),
  appended_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_append_receipt_appended_at ON audit_append_receipt (appended_at);

-- Written only by audit_append_many (as the owner); the server neither reads nor writes it.
REVOKE ALL ON audit_append_receipt FROM PUBLIC;

CREATE FUNCTION audit_append_many(
  p_batch_id uuid,
  p_time timestamptz[],
  p_actor_id uuid[],
  p_actor_username text[],
  p_action text[],
  p_target_type text[],
  p_target_id text[],
  p_outcome text[],
  p_severity text[],
  p_ip text[],
  p_user_agent text[],
  p_model text[],
  p_details jsonb[],
  p_json_before_seq bytea[],
  p_json_after_seq bytea[]
)
RETURNS TABLE (appended_seq bigint, appended_prev_hash text, appended_hash text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  n integer := coalesce(cardinality(p_time), 0);
  head_seq bigint;
  head_hash text;
  seqs bigint[] := '{}';
  prev_hashes text[] := '{}';
  hashes text[] := '{}';
  receipt public.audit_append_receipt%ROWTYPE;
BEGIN
  -- 22023 invalid_parameter_value: one event per index in every array, 1 to 1,000 of them.
  IF p_batch_id IS NULL OR n < 1 OR n > 1000
     OR coalesce(cardinality(p_actor_id), 0) <> n OR coalesce(cardinality(p_actor_username), 0) <> n
     OR coalesce(cardinality(p_action), 0) <> n OR coalesce(cardinality(p_target_type), 0) <> n
     OR coalesce(cardinality(p_target_id), 0) <> n OR coalesce(cardinality(p_outcome), 0) <> n
     OR coalesce(cardinality(p_severity), 0) <> n OR coalesce(cardinality(p_ip), 0) <> n
     OR coalesce(cardinality(p_user_agent), 0) <> n OR coalesce(cardinality(p_model), 0) <> n
     OR coalesce(cardinality(p_details), 0) <> n OR coalesce(cardinality(p_json_before_seq), 0) <> n
     OR coalesce(cardinality(p_json_after_seq), 0) <> n THEN
    RAISE EXCEPTION 'audit_append_many: a batch id and 1 to 1000 events, every array of the same length'
      USING ERRCODE = '22023';
  END IF;

  PERFORM public.audit_chain_lock();

  -- The same batch again (its first call's connection failed): what that call appended.
  SELECT * INTO receipt FROM public.audit_append_receipt r WHERE r.batch_id = p_batch_id;
  IF FOUND THEN
    IF receipt.last_seq - receipt.first_seq + 1 <> n THEN
      RAISE EXCEPTION 'audit_append_many: batch % was appended with another number of events', p_batch_id
        USING ERRCODE = '22023';
    END IF;
    RETURN QUERY SELECT e.seq, e.prev_hash, e.hash FROM public.audit_event e
      WHERE e.seq BETWEEN receipt.first_seq AND receipt.last_seq ORDER BY e.seq;
    RETURN;
  END IF;

  -- Read after the lock is held (a new snapshot per statement, READ COMMITTED): the real head.
  SELECT e.seq, e.hash INTO head_seq, head_hash FROM public.audit_event e ORDER BY e.seq DESC LIMIT 1;
  head_seq := coalesce(head_seq, 0);
  head_hash := coalesce(head_hash, repeat('0', 64));
  FOR i IN 1..n LOOP
    seqs[i] := head_seq + i;
    prev_hashes[i] := head_hash;
    -- audit_append's hash (000011), event by event.
    head_hash := encode(sha256(
      convert_to(head_hash, 'UTF8') || p_json_before_seq[i]
        || convert_to((head_seq + i)::text, 'UTF8') || p_json_after_seq[i]), 'hex');
    hashes[i] := head_hash;
  END LOOP;

  INSERT INTO public.audit_event (seq, time, actor_id, actor_username, action, target_type, target_id,
                                  outcome, severity, ip, user_agent, model, details, prev_hash, hash)
  SELECT * FROM unnest(seqs, p_time, p_actor_id, p_actor_username, p_action, p_target_type, p_target_id,
                       p_outcome, p_severity, p_ip, p_user_agent, p_model, p_details, prev_hashes, hashes);

  INSERT INTO public.audit_append_receipt (batch_id, first_seq, last_seq) VALUES (p_batch_id, seqs[1], seqs[n]);
  -- Pruned once every 1,024 events rather than on every call: one statement less per commit.
  IF (head_seq + n) / 1024 > head_seq / 1024 THEN
    DELETE FROM public.audit_append_receipt r WHERE r.appended_at < now() - interval '10 minutes';
  END IF;

  -- NOTIFY is transactional and delivered in order: listeners hear of each event only if it commits.
  FOR i IN 1..n LOOP
    PERFORM pg_notify('argus_audit', seqs[i]::text);
  END LOOP;

  RETURN QUERY SELECT * FROM unnest(seqs, prev_hashes, hashes);
END;
$$;

REVOKE EXECUTE ON FUNCTION audit_append_many(uuid, timestamptz[], uuid[], text[], text[], text[], text[], text[], text[], text[], text[], text[], jsonb[], bytea[], bytea[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_append_many(uuid, timestamptz[], uuid[], text[], text[], text[], text[], text[], text[], text[], text[], text[], jsonb[], bytea[], bytea[]) TO argus_app;
