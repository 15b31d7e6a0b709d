-- Company sign-in through OpenID Connect (issue #20). The provider's (issuer, subject) pair is
-- what links an Argus account to a company identity: never the email or the username, which
-- the provider lets people change. server/oidc/ decides; server/db/identities.ts reads and writes.

CREATE TABLE user_identity (
  user_id          uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  -- The `iss` of the provider's ID tokens, exactly as it sends it (OIDC Core §2: compared as a string).
  issuer           text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 2048),
  -- The `sub`: at most 255 ASCII characters (OIDC Core §2), unique within its issuer.
  subject          text NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
  created_at       timestamptz NOT NULL DEFAULT now(),
  last_sign_in_at  timestamptz,
  PRIMARY KEY (issuer, subject)
);

-- The admin list's "signs in with" column and unlinking look identities up by user.
CREATE INDEX user_identity_user ON user_identity (user_id);

-- An admin's leave for the next company sign-in whose username claim names this account to
-- link to it (OIDC_PROVISIONING=existing, or an account that exists under jit). Used up by that
-- sign-in; without one, an existing account is never linked by its username alone.
CREATE TABLE oidc_link_allowance (
  user_id     uuid PRIMARY KEY REFERENCES app_user (id) ON DELETE CASCADE,
  allowed_by  uuid REFERENCES app_user (id) ON DELETE SET NULL,
  allowed_at  timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE, DELETE ON user_identity, oidc_link_allowance TO argus_app;
