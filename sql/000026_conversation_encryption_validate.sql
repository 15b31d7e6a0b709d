-- Validating conversation_restricted_is_encrypted (sql/000023), from the server's own role.
--
-- 000023 added that CHECK NOT VALID: rows written since must hold it, but the restricted
-- conversations it marked waited for the encryption job (server/conversations/dataKeyJobs.ts).
-- Once that job finds none left in plaintext, `VALIDATE CONSTRAINT` makes PostgreSQL check
-- every row and record that the whole table holds (pg_constraint.convalidated): from then on
-- the database itself vouches that no restricted conversation is stored in plaintext.
--
-- VALIDATE CONSTRAINT needs the table's owner, and the server connects as a member of
-- argus_app (000015), which owns nothing. This function runs as the owner and does that one
-- thing: it can only make the table stricter, never looser. It takes SHARE UPDATE EXCLUSIVE on
-- conversation (reads and writes go on meanwhile), and scans it once; already validated, it
-- returns at once. A row that still breaks the check fails it with 23514 check_violation,
-- and the constraint stays NOT VALID.
--
-- Returns true when this call validated the constraint, false when it was valid already.
CREATE FUNCTION conversation_encryption_validate() RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c
              WHERE c.conrelid = 'public.conversation'::regclass
                AND c.conname = 'conversation_restricted_is_encrypted'
                AND c.convalidated) THEN
    RETURN false;
  END IF;
  ALTER TABLE public.conversation VALIDATE CONSTRAINT conversation_restricted_is_encrypted;
  RETURN true;
END $$;

REVOKE EXECUTE ON FUNCTION conversation_encryption_validate() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION conversation_encryption_validate() TO argus_app;
