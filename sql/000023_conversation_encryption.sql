-- Restricted conversations (issue #21): readable only under a live grant, and encrypted at rest.
--
-- A conversation is restricted once it has used a restricted model; `restricted_models` lists
-- those models and only ever grows. An encrypted conversation has a data key (`wrapped_dek`,
-- wrapped by the KEK `kek_id`), its title in `title_ct` and its messages in `content_ct`, all
-- AES-256-GCM (server/crypto/dataKeys.ts); the plaintext columns are then NULL.
--
-- SQL holds no key, so this migration only marks which existing conversations are restricted
-- (their model, or any answer's model, is restricted). The server encrypts those in place in
-- batches (server/conversations/encryptConversations.ts: at start-up and with
-- `npm run argus -- encrypt-conversations`); until then the grant check still gates them.

ALTER TABLE conversation
  ADD COLUMN restricted_models text[] NOT NULL DEFAULT '{}',
  ADD COLUMN title_ct bytea,
  ADD COLUMN wrapped_dek bytea,
  ADD COLUMN kek_id text,
  ALTER COLUMN title DROP NOT NULL;

ALTER TABLE message
  ADD COLUMN content_ct bytea,
  ALTER COLUMN content DROP NOT NULL;

UPDATE conversation c SET restricted_models = r.models
FROM (
  SELECT u.conversation_id, array_agg(DISTINCT u.model_id ORDER BY u.model_id) AS models
  FROM (
    SELECT id AS conversation_id, model_id FROM conversation
    UNION ALL
    SELECT conversation_id, model_id FROM message WHERE model_id IS NOT NULL
  ) u
  JOIN model m ON m.id = u.model_id AND m.tier = 'restricted'
  GROUP BY u.conversation_id
) r
WHERE c.id = r.conversation_id;

ALTER TABLE conversation
  -- A data key always names the KEK that wrapped it.
  ADD CONSTRAINT conversation_dek_has_kek CHECK ((wrapped_dek IS NULL) = (kek_id IS NULL)),
  -- Only a restricted conversation is encrypted, and an encrypted one holds no plaintext title.
  ADD CONSTRAINT conversation_encrypted_is_restricted CHECK (wrapped_dek IS NULL OR cardinality(restricted_models) > 0),
  ADD CONSTRAINT conversation_title_one_form CHECK (
    CASE WHEN wrapped_dek IS NULL THEN title IS NOT NULL AND title_ct IS NULL ELSE title IS NULL AND title_ct IS NOT NULL END
  );

-- A restricted conversation is encrypted. NOT VALID: the rows marked above wait for the
-- server's job; every row written from now on (and every change to one of those) must hold.
ALTER TABLE conversation
  ADD CONSTRAINT conversation_restricted_is_encrypted CHECK (cardinality(restricted_models) = 0 OR wrapped_dek IS NOT NULL) NOT VALID;

-- A message holds its content in one form.
ALTER TABLE message
  ADD CONSTRAINT message_content_one_form CHECK ((content IS NULL) <> (content_ct IS NULL));

-- No plaintext message in an encrypted conversation (a CHECK cannot look at the conversation).
-- The conversation is read FOR SHARE, whatever it holds: a transaction encrypting it (FOR UPDATE)
-- then waits for this write to commit and seals it too, or this write waits and is refused.
CREATE FUNCTION message_no_plaintext_when_encrypted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
  encrypted boolean;
BEGIN
  IF NEW.content IS NOT NULL THEN
    SELECT c.wrapped_dek IS NOT NULL INTO encrypted FROM public.conversation c WHERE c.id = NEW.conversation_id FOR SHARE;
    IF encrypted THEN
      -- The error names no content: it must not carry what it refuses to store.
      RAISE EXCEPTION 'plaintext message in an encrypted conversation' USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER message_no_plaintext_when_encrypted BEFORE INSERT OR UPDATE OF content, conversation_id ON message
  FOR EACH ROW EXECUTE FUNCTION message_no_plaintext_when_encrypted();

-- The encryption job's work list: restricted conversations still in plaintext.
CREATE INDEX conversation_plaintext_restricted ON conversation (id) WHERE cardinality(restricted_models) > 0 AND wrapped_dek IS NULL;
-- Rotation's work list and the admin view: data keys per KEK.
CREATE INDEX conversation_kek ON conversation (kek_id) WHERE kek_id IS NOT NULL;
