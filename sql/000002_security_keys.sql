-- FIDO2 security keys (WebAuthn credentials) and the key step of enrollment.

CREATE TABLE security_key (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id           uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  -- The raw credential id as the authenticator made it.
  credential_id     bytea NOT NULL UNIQUE CHECK (length(credential_id) BETWEEN 1 AND 1023),
  -- COSE-encoded public key.
  public_key        bytea NOT NULL,
  sign_count        bigint NOT NULL DEFAULT 0 CHECK (sign_count >= 0),
  transports        text[] NOT NULL DEFAULT '{}',
  aaguid            uuid NOT NULL,
  model_name        text NOT NULL,
  device_type       text NOT NULL CHECK (device_type IN ('singleDevice', 'multiDevice')),
  backed_up         boolean NOT NULL,
  nickname          text NOT NULL CHECK (length(nickname) BETWEEN 1 AND 64),
  -- What the browser's WebHID saw at registration: metadata, never proof.
  hid_vendor_id     integer CHECK (hid_vendor_id BETWEEN 0 AND 65535),
  hid_product_id    integer CHECK (hid_product_id BETWEEN 0 AND 65535),
  hid_product_name  text CHECK (length(hid_product_name) <= 128),
  status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated', 'suspended')),
  status_reason     text CHECK (length(status_reason) <= 500),
  created_at        timestamptz NOT NULL DEFAULT now(),
  last_used_at      timestamptz
);

CREATE INDEX security_key_user ON security_key (user_id, created_at);
CREATE INDEX security_key_status ON security_key (status, created_at, id);

ALTER TABLE enrollment ADD COLUMN key_registered_at timestamptz;
