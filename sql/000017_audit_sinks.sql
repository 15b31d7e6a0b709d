-- Live SIEM streaming (issue #19): where each configured sink has got to in the audit chain.
-- Delivery is at-least-once and in order: a node locks its sink's row (FOR UPDATE SKIP LOCKED,
-- so one node at a time delivers each sink), reads the events and checkpoints after the
-- cursor, delivers them, and only then advances the cursor in the same transaction.
-- server/audit/sinks/delivery.ts; docs/deploy.md "Streaming the audit log to a SIEM".
CREATE TABLE audit_sink_cursor (
  -- The sink's kind ('syslog', 'http', 'checkpoint-file'): one cursor per kind.
  sink_id                 text PRIMARY KEY CHECK (sink_id ~ '^[a-z][a-z0-9-]{0,31}$'),
  -- Every event with seq <= delivered_seq has reached the sink (0: none yet).
  delivered_seq           bigint NOT NULL DEFAULT 0 CHECK (delivered_seq >= 0),
  -- Every checkpoint with id <= delivered_checkpoint_id has reached the sink.
  delivered_checkpoint_id bigint NOT NULL DEFAULT 0 CHECK (delivered_checkpoint_id >= 0),
  -- When a batch last reached the sink (null: never).
  delivered_at            timestamptz,
  updated_at              timestamptz NOT NULL DEFAULT now(),
  -- The last failure, as shown to auditors: a short message without secrets.
  last_error              text CHECK (length(last_error) <= 500),
  last_error_at           timestamptz,
  consecutive_failures    integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
  -- Backoff shared by every node: no node tries again before this (null: any time).
  next_attempt_at         timestamptz
);

GRANT SELECT, INSERT, UPDATE, DELETE ON audit_sink_cursor TO argus_app;
