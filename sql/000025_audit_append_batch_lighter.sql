-- A lighter group-commit append (issue #24). audit_append_many (000024) is replaced with the same
-- signature, grants and behaviour (the chain format, the batch receipt, order, idempotent retry),
-- and costs less per batch and per event:
--
-- - ONE notification per batch, not one per event. Its payload is the batch's seq range,
--   'first-last' (audit_append still announces its one event as 'seq'). A listener that needs
--   the events reads the range since the last seq it saw (server/realtime/auditFeed.ts); the
--   sink delivery only wakes up. At ~8,500 events/s, one NOTIFY per event was ~8,500 queue
--   entries and socket messages per second for every LISTEN connection of every node.
-- - The receipt is claimed with one INSERT … ON CONFLICT DO NOTHING instead of a look-up then an
--   insert: a conflict is the retried batch.
-- - The hash loop runs two plpgsql statements per event instead of four; seqs and predecessors
--   are derived in the INSERT (WITH ORDINALITY) rather than built element by element.
--
-- And audit_event gets cheaper to insert into, with the same rules for what a row may hold:
--
-- - Its two hash CHECKs keep their meaning (exactly 64 characters, each 0-9 or a-f) without the
--   regular expression ^[0-9a-f]{64}$, whose counted repetition cost ~6 µs a row each: about a
--   seventh of an append's time in Postgres. octet_length and a one-character class take ~0.5 µs.
-- - The UNIQUE constraint on hash goes. No query looks events up by hash (every read is by seq or
--   a search column; audit_checkpoint_append checks seq AND hash through the primary key), and
--   uniqueness adds nothing the chain does not already prove: each hash covers its seq and its
--   predecessor's hash, so verification (server/audit/verify.ts) catches a duplicated or forged
--   row either way. It was the costliest of the ~12 indexes each append maintains: a 64-character
--   key landing at a random place in a B-tree that grows with the log, so, once the log outgrows
--   memory, a random page read and a full-page WAL image per event.
--
-- One ALTER TABLE: the new CHECKs are validated in one pass over the table.
ALTER TABLE audit_event
  DROP CONSTRAINT audit_event_hash_key,
  DROP CONSTRAINT audit_event_hash_check,
  DROP CONSTRAINT audit_event_prev_hash_check,
  ADD CONSTRAINT audit_event_hash_check CHECK (octet_length(hash) = 64 AND hash !~ '[^0-9a-f]'),
  ADD CONSTRAINT audit_event_prev_hash_check CHECK (octet_length(prev_hash) = 64 AND prev_hash !~ '[^0-9a-f]');

CREATE OR REPLACE FUNCTION audit_append_many(
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
  first_hash text;
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

  -- Read after the lock is held (a new snapshot per statement, READ COMMITTED): the real head.
  SELECT e.seq, e.hash INTO head_seq, head_hash FROM public.audit_event e ORDER BY e.seq DESC LIMIT 1;
  head_seq := coalesce(head_seq, 0);
  head_hash := coalesce(head_hash, repeat('0', 64));

  -- The receipt, claimed first: a conflict means this batch was sent before (its first call's
  -- connection failed) and committed; return what that call appended.
  INSERT INTO public.audit_append_receipt (batch_id, first_seq, last_seq)
  VALUES (p_batch_id, head_seq + 1, head_seq + n)
  ON CONFLICT (batch_id) DO NOTHING;
  IF NOT FOUND THEN
    SELECT * INTO receipt FROM public.audit_append_receipt r WHERE r.batch_id = p_batch_id;
    IF receipt.last_seq - receipt.first_seq + 1 <> n THEN
      RAISE EXCEPTION 'audit_append_many: batch % was appended with another number of events', p_batch_id
        USING ERRCODE = '22023';
    END IF;
    RETURN QUERY SELECT e.seq, e.prev_hash, e.hash FROM public.audit_event e
      WHERE e.seq BETWEEN receipt.first_seq AND receipt.last_seq ORDER BY e.seq;
    RETURN;
  END IF;

  -- audit_append's hash (000011), event by event, each on the one before.
  first_hash := head_hash;
  FOR i IN 1..n LOOP
    head_hash := encode(sha256(
      convert_to(head_hash, 'UTF8') || p_json_before_seq[i]
        || convert_to((head_seq + i)::text, 'UTF8') || p_json_after_seq[i]), 'hex');
    hashes[i] := head_hash;
  END LOOP;

  -- Event i: seq head_seq + i, its predecessor's hash first_hash (i = 1) or hashes[i - 1].
  RETURN QUERY
  WITH appended AS (
    INSERT INTO public.audit_event (seq, time, actor_id, actor_username, action, target_type, target_id,
                                    outcome, severity, ip, user_agent, model, details, prev_hash, hash)
    SELECT head_seq + u.i, u.time, u.actor_id, u.actor_username, u.action, u.target_type, u.target_id,
           u.outcome, u.severity, u.ip, u.user_agent, u.model, u.details, u.prev_hash, u.hash
      FROM unnest(p_time, p_actor_id, p_actor_username, p_action, p_target_type, p_target_id, p_outcome,
                  p_severity, p_ip, p_user_agent, p_model, p_details, array_prepend(first_hash, hashes[1:n - 1]), hashes)
           WITH ORDINALITY AS u(time, actor_id, actor_username, action, target_type, target_id, outcome,
                                severity, ip, user_agent, model, details, prev_hash, hash, i)
    RETURNING seq, prev_hash, hash
  )
  SELECT a.seq, a.prev_hash, a.hash FROM appended a ORDER BY a.seq;

  -- Pruned once every 1,024 events rather than on every call: one statement less per commit.
  IF (head_seq + n) / 1024 > head_seq / 1024 THEN
    DELETE FROM public.audit_append_receipt r WHERE r.appended_at < now() - interval '10 minutes';
  END IF;

  -- NOTIFY is transactional and delivered in commit order: listeners hear of the batch only if
  -- it commits, and (the chain lock being held to commit) batches in seq order.
  PERFORM pg_notify('argus_audit', (head_seq + 1)::text || '-' || (head_seq + n)::text);
END;
$$;
