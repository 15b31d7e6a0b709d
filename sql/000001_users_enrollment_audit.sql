-- Users, enrollment links and the hash-chained audit log.

CREATE TABLE app_user (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  username       text NOT NULL CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$'),
  display_name   text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
  role           text NOT NULL CHECK (role IN ('user', 'admin', 'auditor')),
  status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  -- Argon2id PHC string; null until the user has chosen a password at enrollment.
  password_hash  text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Usernames are unique regardless of case; lookups go through lower(username).
CREATE UNIQUE INDEX app_user_username_lower ON app_user (lower(username));
CREATE INDEX app_user_role_status ON app_user (role, status);

-- One-time enrollment links. Only the SHA-256 of the token is stored.
CREATE TABLE enrollment (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id          uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  token_hash       bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  created_by       uuid REFERENCES app_user (id) ON DELETE SET NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz NOT NULL,
  password_set_at  timestamptz,
  used_at          timestamptz,
  -- Issuing a new link for a user revokes the older ones.
  revoked_at       timestamptz
);

CREATE INDEX enrollment_user ON enrollment (user_id);

-- Append-only, hash-chained audit log. See docs/audit-chain.md.
CREATE TABLE audit_event (
  seq             bigint PRIMARY KEY CHECK (seq > 0),
  time            timestamptz NOT NULL,
  actor_id        uuid,
  actor_username  text,
  action          text NOT NULL,
  target_type     text,
  target_id       text,
  outcome         text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  severity        text NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
  ip              text,
  user_agent      text,
  model           text,
  details         jsonb NOT NULL DEFAULT '{}'::jsonb,
  prev_hash       text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash            text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$')
);

CREATE INDEX audit_event_time ON audit_event (time);
CREATE INDEX audit_event_actor ON audit_event (actor_id, seq);
CREATE INDEX audit_event_action ON audit_event (action, seq);

CREATE FUNCTION audit_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_event is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'P0001';
END;
$$;

CREATE TRIGGER audit_event_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();

CREATE TRIGGER audit_event_no_truncate
  BEFORE TRUNCATE ON audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
