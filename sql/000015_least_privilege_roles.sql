-- Least privilege (issue #19, invariant 10). Migrations run as the role that owns the schema;
-- the server connects as a login role that is a member of argus_app. argus_app may read and
-- write the ordinary tables but only read the audit tables: events and checkpoints are
-- appended through the SECURITY DEFINER functions below, which run as the owner and compute
-- the chain fields themselves. Holding the server's credentials is then not enough to rewrite,
-- delete, reorder or forge audit rows, to disable the append-only triggers or to alter the
-- tables (all of which need the owner). docs/deploy.md "Database roles" is the operator's side.
--
-- A migration that adds a table the server writes must end with
--   GRANT SELECT, INSERT, UPDATE, DELETE ON <table> TO argus_app;
-- (and USAGE on its sequences); server/db/leastPrivilege.test.ts fails for a table without it.

-- Roles belong to the cluster, this migration to one database: argus_app may exist already
-- (another database of the cluster, an operator who created it beforehand so that the owner
-- needs no CREATEROLE, or a migration of another database running at this moment).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'argus_app') THEN
    CREATE ROLE argus_app NOLOGIN;
  END IF;
EXCEPTION
  -- 42710 duplicate_object, or 23505 when the other transaction committed the same role while this one waited.
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- SECURITY DEFINER functions resolve names through their search_path; a role allowed to create
-- objects in public could plant a better-matching function there (CVE-2018-1058). PostgreSQL 15
-- and newer no longer let PUBLIC create in public; on older servers this takes that right away
-- where the migrating role may (it owns the schema, or is a superuser), else it is a no-op
-- with a warning and the server's start-up check reports it.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

GRANT USAGE ON SCHEMA public TO argus_app;

-- Every table the server writes. None of them has a sequence (their keys are uuids or
-- natural keys), so there is no sequence to grant.
GRANT SELECT, INSERT, UPDATE, DELETE ON
  app_user,
  enrollment,
  security_key,
  model,
  conversation,
  message,
  detector_pairing_code,
  detector,
  audit_outbox_applied
TO argus_app;

-- Read-only for the server: the chain and its checkpoints (appended only through the functions
-- below), and the migration record (the server checks it for pending migrations; only
-- migrations, run as the owner, write it).
GRANT SELECT ON audit_event, audit_checkpoint, schema_migration TO argus_app;

-- audit_append (000011) now runs as its owner: the caller passes the event and its canonical
-- JSON, never the seq, prev_hash or hash. pg_temp last: otherwise a caller's temporary table
-- named audit_event would be searched first.
ALTER FUNCTION audit_append(timestamptz, uuid, text, text, text, text, text, text, text, text, text, jsonb, bytea, bytea)
  SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp;
REVOKE EXECUTE ON FUNCTION audit_append(timestamptz, uuid, text, text, text, text, text, text, text, text, text, jsonb, bytea, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_append(timestamptz, uuid, text, text, text, text, text, text, text, text, text, jsonb, bytea, bytea) TO argus_app;

-- A signed checkpoint vouches for an event the chain really holds, with the hash it really has:
-- one naming a seq that does not exist, or a hash the event does not have, is refused with
-- SQLSTATE ZA001 (a class of Argus's own; PG_AUDIT_CHECKPOINT_UNKNOWN_EVENT in server/db/pool.ts).
CREATE FUNCTION audit_checkpoint_append(
  p_seq bigint,
  p_hash text,
  p_time timestamptz,
  p_key_fingerprint text,
  p_signature text
) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  checkpoint_id bigint;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM public.audit_event e WHERE e.seq = p_seq AND e.hash = p_hash) THEN
    RAISE EXCEPTION 'audit_checkpoint_append: the chain has no event #% with that hash', p_seq
      USING ERRCODE = 'ZA001';
  END IF;
  INSERT INTO public.audit_checkpoint (seq, hash, time, key_fingerprint, signature)
  VALUES (p_seq, p_hash, p_time, p_key_fingerprint, p_signature)
  RETURNING id INTO checkpoint_id;
  RETURN checkpoint_id;
END;
$$;

REVOKE EXECUTE ON FUNCTION audit_checkpoint_append(bigint, text, timestamptz, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_checkpoint_append(bigint, text, timestamptz, text, text) TO argus_app;
