-- Conversations and their messages, stored on the server so people find them on any device.

CREATE TABLE conversation (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
  model_id    text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX conversation_user_recent ON conversation (user_id, updated_at DESC, id DESC);

CREATE TABLE message (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  conversation_id  uuid NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
  role             text NOT NULL CHECK (role IN ('user', 'assistant')),
  content          text NOT NULL,
  model_id         text,
  status           text NOT NULL CHECK (status IN ('complete', 'cut_off', 'error', 'streaming')),
  note             text,
  usage            jsonb,
  created_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX message_conversation ON message (conversation_id, created_at, id);
