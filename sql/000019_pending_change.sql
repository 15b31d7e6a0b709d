-- The two-person rule (issue #22, threat model G9): while two or more admins can approve, the
-- riskiest admin changes wait here until a second admin approves them (server/pendingChanges/).
-- A row keeps what was asked, exactly, by whom and when, until when it may be approved, and how
-- the target looked when it was asked: approval refuses if the target has changed since.

CREATE TABLE pending_admin_change (
  id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- enrollment_link: a recovery link for a user who has active keys or is an admin;
  -- promote_admin: a user made an admin; model_endpoint: a model's base URL or key variable.
  kind                   text NOT NULL CHECK (kind IN ('enrollment_link', 'promote_admin', 'model_endpoint')),
  status                 text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'applied', 'rejected', 'cancelled', 'expired')),
  -- Users are named by id and username, without foreign keys, as in the audit log: a waiting
  -- change must not stop a user's deletion, and its record outlives them.
  requested_by           uuid NOT NULL,
  requested_by_username  text NOT NULL,
  requested_at           timestamptz NOT NULL DEFAULT now(),
  expires_at             timestamptz NOT NULL CHECK (expires_at > requested_at),
  target_user_id         uuid,
  target_model_id        text,
  -- The new values asked for, exactly (a role change's body, a model change's body; {} for a link).
  change                 jsonb NOT NULL CHECK (jsonb_typeof(change) = 'object'),
  -- The target as it was when asked, compared again at approval.
  target_snapshot        jsonb NOT NULL CHECK (jsonb_typeof(target_snapshot) = 'object'),
  -- enrollment_link only: the SHA-256 of the link's token. The token was shown once to the
  -- requester; the link works only once approved, when an enrollment with this hash is written.
  token_hash             bytea CHECK (length(token_hash) = 32),
  -- Who approved, rejected or cancelled it, and when (expired: no one, at its expiry).
  decided_by             uuid,
  decided_by_username    text,
  decided_at             timestamptz,
  CHECK ((kind = 'model_endpoint') = (target_model_id IS NOT NULL)),
  CHECK ((kind = 'model_endpoint') = (target_user_id IS NULL)),
  CHECK ((kind = 'enrollment_link') = (token_hash IS NOT NULL)),
  CHECK ((status = 'pending') = (decided_at IS NULL))
);

-- One waiting change of a kind per target: a second request waits for the first to be decided.
CREATE UNIQUE INDEX pending_admin_change_one_waiting
  ON pending_admin_change (kind, coalesce(target_user_id::text, target_model_id)) WHERE status = 'pending';
-- The console's list and the expiry sweep read only the waiting ones.
CREATE INDEX pending_admin_change_waiting ON pending_admin_change (expires_at) WHERE status = 'pending';

GRANT SELECT, INSERT, UPDATE, DELETE ON pending_admin_change TO argus_app;
