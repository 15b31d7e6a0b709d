-- The model catalog. Upstream API keys are never stored: only the name of the
-- environment variable that holds one.

CREATE TABLE model (
  id                     text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
  display_name           text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
  description            text NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
  provider               text NOT NULL CHECK (provider IN ('demo', 'openai')),
  base_url               text CHECK (base_url IS NULL OR base_url ~ '^https?://'),
  upstream_model         text NOT NULL DEFAULT '' CHECK (length(upstream_model) <= 200),
  api_key_env            text CHECK (api_key_env IS NULL OR api_key_env ~ '^[A-Z_][A-Z0-9_]{0,63}$'),
  tier                   text NOT NULL CHECK (tier IN ('standard', 'restricted')),
  enabled                boolean NOT NULL DEFAULT true,
  grant_seconds          integer NOT NULL DEFAULT 300 CHECK (grant_seconds BETWEEN 30 AND 3600),
  requires_user_verification boolean NOT NULL DEFAULT false,
  max_output_tokens      integer NOT NULL DEFAULT 1024 CHECK (max_output_tokens BETWEEN 1 AND 131072),
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);

-- A fresh install works with no model server: two offline demo models, one of each tier.
INSERT INTO model (id, display_name, description, provider, upstream_model, tier, grant_seconds)
VALUES
  ('demo-standard', 'Demo Standard', 'Offline demo model: replies with canned text, not a real AI.', 'demo', 'demo', 'standard', 300),
  ('demo-restricted', 'Demo Restricted', 'Offline demo of a restricted model: unlocked only by your own security key.', 'demo', 'demo', 'restricted', 300);
