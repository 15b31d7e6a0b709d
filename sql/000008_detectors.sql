-- Fallback Node detectors (issue #8): one-time pairing codes, paired detectors with their
-- Argon2id-hashed device keys, and the serial number a detector learned for a credential.

CREATE TABLE detector_pairing_code (
  -- SHA-256 of the code: short-lived and rate-limited, so a fast hash is enough.
  code_hash   bytea PRIMARY KEY CHECK (length(code_hash) = 32),
  user_id     uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);

CREATE INDEX detector_pairing_code_expiry ON detector_pairing_code (expires_at);

CREATE TABLE detector (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  -- Not secret: names the key in the handshake so each connection hashes once.
  key_id        text NOT NULL UNIQUE CHECK (key_id ~ '^[A-Za-z0-9_-]{16,64}$'),
  -- Argon2id of the 256-bit device secret.
  key_hash      text NOT NULL,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz,
  revoked_at    timestamptz,
  revoked_by    uuid REFERENCES app_user (id) ON DELETE SET NULL
);

CREATE INDEX detector_user ON detector (user_id, created_at);
CREATE INDEX detector_list ON detector (created_at, id);

-- The HID serial number a detector reported while the credential proved ownership:
-- metadata, never proof. Not unique: a detector could lie, and a lie may only raise alarms.
ALTER TABLE security_key ADD COLUMN hid_serial text CHECK (length(hid_serial) BETWEEN 1 AND 128);
CREATE INDEX security_key_hid_serial ON security_key (hid_serial) WHERE hid_serial IS NOT NULL;
