-- Some changes happen in Redis (a grant ends) while Postgres may be away. Their audit records
-- wait in a Redis outbox, queued in the same MULTI as the change, and are appended to the chain
-- once Postgres answers. Each queued record has an id; applying it marks the id here in the same
-- transaction as the audit insert, so a record drained twice (a node dying between the commit
-- and the removal from Redis) is appended once.
CREATE TABLE audit_outbox_applied (
  id uuid PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX audit_outbox_applied_at ON audit_outbox_applied (applied_at);
